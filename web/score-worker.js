// The Score view's engraver: Verovio (npm `verovio`, served from this page's origin under
// /verovio/) in a module worker, so that engraving a long score never stalls the UI. Loaded the
// first time the Score view opens.
// In: {id, xml, options}. Out: {id, pages: [svg...], ms} or {id, error}.
import createVerovioModule from './verovio/verovio-module.mjs';
import { VerovioToolkit } from './verovio/verovio.mjs';

let toolkit = null;

self.onmessage = async ({ data }) => {
  const t0 = performance.now();
  try {
    if (!toolkit) toolkit = new VerovioToolkit(await createVerovioModule());
    toolkit.setOptions(data.options);
    if (!toolkit.loadData(data.xml)) throw new Error(`Verovio could not read the score: ${toolkit.getLog() || 'no reason given'}`);
    const pages = [];
    for (let p = 1; p <= toolkit.getPageCount(); p++) pages.push(toolkit.renderToSVG(p, false));
    self.postMessage({ id: data.id, pages, ms: performance.now() - t0 });
  } catch (e) {
    self.postMessage({ id: data.id, error: String(e && e.message || e) });
  }
};
