// Loads MusicXML files into Verovio (npm `verovio`, the engraver the web app's Score view uses),
// renders every page to SVG and checks the measure count against qscribe's own.
// usage: node verovio_check.mjs SCORE.musicxml[:BARS] ...   (exit 1 on any failure)
import fs from 'node:fs';
import createVerovioModule from 'verovio/wasm';
import { VerovioToolkit } from 'verovio/esm';

const tk = new VerovioToolkit(await createVerovioModule());
tk.setOptions({ pageWidth: 2100, adjustPageHeight: true, breaks: 'auto' });
let failed = false;
for (const arg of process.argv.slice(2)) {
  const [file, bars] = arg.split(':');
  const name = file.split('/').pop();
  try {
    if (!tk.loadData(fs.readFileSync(file, 'utf8'))) throw new Error('loadData returned false: ' + tk.getLog());
    const pages = tk.getPageCount();
    let svgBytes = 0, svgMeasures = 0;
    for (let p = 1; p <= pages; p++) {
      const svg = tk.renderToSVG(p);
      svgBytes += svg.length;
      svgMeasures += (svg.match(/class="measure"/g) || []).length;
    }
    const meiMeasures = (tk.getMEI().match(/<measure /g) || []).length;
    if (pages < 1 || svgBytes < 1000) throw new Error(`rendered ${pages} pages, ${svgBytes} bytes of SVG`);
    if (bars && (meiMeasures !== Number(bars) || svgMeasures !== Number(bars)))
      throw new Error(`${meiMeasures} measures in MEI and ${svgMeasures} in the SVG, expected ${bars}`);
    console.log(`${name}: verovio rendered ${pages} page(s), ${svgMeasures} measures, ${(svgBytes / 1024).toFixed(0)} KiB SVG`);
  } catch (e) {
    failed = true;
    console.log(`${name}: FAIL ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
