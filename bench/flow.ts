export function run() {
  return {};
}
