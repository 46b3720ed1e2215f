/**
 * report.html opened in a real browser: Debian's Chromium driven by playwright-core (no browser is downloaded;
 * `apt-get install chromium`, or set TOPOCAST_CHROMIUM to a Chromium binary). The report of a ten-policy run must
 * load without console errors, render every plot and table, and link only to files that exist beside it.
 * Skips, saying so, where no Chromium is found.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { loadConfig } from "../../experiments/config/load.ts";
import { runExperiment } from "../../experiments/run-experiment.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";

const CHROMIUM_CANDIDATES = [process.env.TOPOCAST_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
const executablePath = CHROMIUM_CANDIDATES.find((p): p is string => !!p && existsSync(p));
const skip = executablePath
  ? false
  : `no Chromium found (looked at TOPOCAST_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser): apt-get install chromium`;

/** Flags for a quiet, offline, throwaway Chromium (the profile is a fresh directory, see launchPersistentContext). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The fixture's ten policies and the plots its report has (it has control actions, so the overhead plot too). */
const POLICIES = 10;
const PLOTS = [
  "Flow completion time",
  "Slowdown",
  "Slowdown by flow size",
  "Max link utilization",
  "Control overhead",
];

describe("report.html in Chromium", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "topocast-report-browser-"));
  const run = join(dir, "run");
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    await runExperiment(loadConfig(join(REPO_ROOT, "test/experiments/fixtures/ten-policies.yaml")), {
      out: run,
    });
    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: executablePath!,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) =>
      errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`),
    );
    await page.goto(pathToFileURL(join(run, "report.html")).href, { waitUntil: "load" });
  });
  after(async () => {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads without console errors, page errors or failed requests", () => {
    assert.deepEqual(errors, []);
  });

  it("renders every plot as a non-empty SVG with marks, under its heading", async () => {
    const plots = await page.$$eval(".plot", (divs) =>
      divs.map((d) => {
        const svg = d.querySelector("svg");
        const box = svg?.getBoundingClientRect();
        return {
          heading: d.previousElementSibling?.textContent ?? "",
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: svg?.querySelectorAll("path, rect, line").length ?? 0,
        };
      }),
    );
    assert.deepEqual(
      plots.map((p) => p.heading),
      PLOTS,
    );
    for (const p of plots) {
      assert.ok(p.width > 100 && p.height > 100, `${p.heading}: ${p.width} x ${p.height} px`);
      assert.ok(p.marks > 10, `${p.heading}: ${p.marks} marks`);
    }
    const images = await page.$$eval("img", (imgs) => imgs.map((i) => i.naturalWidth));
    assert.ok(
      images.every((w) => w > 0),
      `every image loaded: ${images}`,
    );
  });

  it("renders the summary, per-size, value-of-prediction and cost-of-deciding tables with a row per policy", async () => {
    const tables = await page.$$eval("table", (ts) =>
      ts.map((t) => ({
        heading: t.previousElementSibling?.textContent ?? "",
        rows: t.querySelectorAll("tbody tr").length,
        height: t.getBoundingClientRect().height,
      })),
    );
    assert.deepEqual(
      tables.map((t) => [t.heading, t.rows]),
      [
        ["Summary", POLICIES],
        ["By flow size", POLICIES * 3],
        // One row per predictive policy that is not an oracle: overlay-ewma, -lv, -ma and mirroring-ewma.
        ["Value of prediction", 4],
        // Wall time per control decision, from manifest.json.
        ["Cost of deciding", POLICIES],
      ],
    );
    for (const t of tables) assert.ok(t.height > 0, `${t.heading} table is visible`);
    const reading = await page.$$eval("p.reading", (ps) => ps.map((p) => p.textContent ?? ""));
    assert.equal(reading.length, 3);
    assert.match(reading[1]!, /link 6->7 down from 500ms to 1s/);
  });

  it("links only to files that exist beside the report, the CSVs among them", async () => {
    const hrefs = await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href") ?? ""));
    const files = hrefs.map((h) => fileURLToPath(new URL(h, page.url())));
    const missing = files.filter((f) => !existsSync(f));
    assert.deepEqual(missing, []);
    for (const csv of ["flows.csv", "links.csv", "timeseries.csv"]) {
      assert.ok(files.includes(join(run, csv)), `links to ${csv}`);
    }
    assert.equal(files.filter((f) => f.endsWith(".png")).length, PLOTS.length, "a PNG per plot");
  });
});
