// The page's Content-Security-Policy, in one place: web/server.mjs sends it as a header,
// scripts/build-site puts it into the built index.html as a <meta> tag (for hosts that cannot set
// headers) and into the service worker, which adds it to every response it serves.
//
// What the app needs, and nothing else (docs/deploy.md):
//  - scripts, module workers (Verovio's engraver) and the microphone's AudioWorklet: this origin;
//  - 'wasm-unsafe-eval': compiling WebAssembly (the core, ONNX Runtime Web, Verovio); no eval()
//    ('report-sample' only puts the start of a refused script into violation reports);
//  - fetch(): this origin (the model, its sidecar, the wasm files);
//  - styles: this origin, plus inline styles: Verovio's SVG carries <style> elements;
//  - fonts: this origin and data: (Verovio's music font comes as a data: URL in that <style>);
//  - images: this origin (the icons); no media elements (audio plays through Web Audio);
//  - nothing from another origin, no plugins, no <base>, no forms.
const DIRECTIVES = [
  ["default-src", "'self'"],
  ["script-src", "'self' 'wasm-unsafe-eval' 'report-sample'"],
  ["worker-src", "'self'"],
  ["connect-src", "'self'"],
  ["style-src", "'self' 'unsafe-inline'"],
  ["img-src", "'self'"],
  ["font-src", "'self' data:"],
  ["manifest-src", "'self'"],
  ["object-src", "'none'"],
  ["base-uri", "'none'"],
  ["form-action", "'none'"],
  ["frame-ancestors", "'none'"],  // header only: browsers ignore it (with a warning) in <meta>
];

export const CSP = DIRECTIVES.map(([k, v]) => `${k} ${v}`).join('; ');
export const CSP_META = DIRECTIVES.filter(([k]) => k !== 'frame-ancestors').map(([k, v]) => `${k} ${v}`).join('; ');
