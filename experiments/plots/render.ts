/**
 * Renders vega-lite specs in Node, without a browser: vega-lite compiles the spec to vega, vega's headless View
 * renders SVG, and resvg rasterizes it to PNG. Output is deterministic for the same spec and data.
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../../sim/io/atomic-write.ts";

export type { TopLevelSpec };

/** Renders a vega-lite spec to an SVG string. */
export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vgSpec } = compile(spec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterizes an SVG string to PNG bytes at `scale` (2 = retina-sharp), on a white background. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}

/**
 * Writes `<outBase>.svg` and `<outBase>.png` (and `<outBase>.vl.json`, the spec itself, so a reader can re-render
 * or edit it) atomically. Returns the paths.
 */
export async function renderVegaLite(
  spec: TopLevelSpec,
  outBase: string,
): Promise<{ svg: string; png: string; spec: string }> {
  const svg = await vegaLiteToSvg(spec);
  const paths = { svg: `${outBase}.svg`, png: `${outBase}.png`, spec: `${outBase}.vl.json` };
  writeFileAtomic(paths.svg, svg);
  writeFileAtomic(paths.png, svgToPng(svg));
  writeFileAtomic(paths.spec, `${JSON.stringify(spec, null, 2)}\n`);
  return paths;
}
