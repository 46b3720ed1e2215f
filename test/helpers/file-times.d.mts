/** Types of file-times.mjs (a JavaScript reporter: node 20 loads reporters without tsx). */
export function timeLines(
  group: string,
  files: ReadonlyMap<string, number>,
  totalMs: number,
  budget: { fileS?: number; groupS?: number },
): string[];
export default function fileTimes(
  source: AsyncIterable<{ type: string; data: unknown }>,
): AsyncGenerator<string>;
