// The Score view: sheet music of the current notes, engraved by Verovio (web/score-worker.js)
// from the core's MusicXML, in an HTML panel the C++ UI places over the canvas (host.scorePanel).
// While it is open it follows the core: a new analysis (notes re-decoded, sliders, tempo / meter
// / key overrides) re-engraves it after a short pause, a resized panel re-flows it, and the bar
// being played is highlighted (the core's bar at the play position; Verovio's g.measure elements
// come in bar order). A click on a bar seeks there.

const DEBOUNCE_MS = 250;  // quiet time after a change before engraving again
const SCALE = 40;         // Verovio's zoom, percent

export class ScoreView {
  constructor(core, panel) {
    this.core = core;
    this.panel = panel;
    this.status = panel.querySelector('.score-status');
    this.pages = panel.querySelector('.score-pages');
    this.worker = null;
    this.visible = false;
    this.seen = { revision: -1, width: 0 };   // what the core / panel looked like last tick
    this.changedAt = 0;
    this.immediate = true;  // the first engraving after opening starts at once
    this.rendered = { revision: -1, width: 0 };
    this.inFlight = null;                      // {id, revision, width}
    this.nextId = 1;
    this.measures = [];
    this.bar = -1;
    this.lastMs = 0;
    this.error = '';
    this.waiters = [];
    this.tick = this.tick.bind(this);
    // A click on a bar (anywhere in its box: most of a bar is unpainted) seeks to its start.
    this.pages.addEventListener('click', (e) => {
      const i = this.measures.findIndex((m) => {
        const r = m.getBoundingClientRect();
        return e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      });
      if (i >= 0) core._qs_seek_bar(i);
    });
  }

  // Called by the C++ UI (CSS pixels relative to the canvas); w == 0 hides the panel.
  place(x, y, w, h) {
    const show = w > 0 && h > 0;
    Object.assign(this.panel.style, show ? { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px`, display: 'block' }
                                         : { display: 'none' });
    if (show && !this.visible) {
      this.visible = true;
      this.immediate = true;
      requestAnimationFrame(this.tick);
    } else if (!show) {
      this.visible = false;
    }
  }

  tick(now) {
    if (!this.visible) return;
    const revision = this.core._qs_score_revision();
    const width = Math.round(this.pages.clientWidth);
    if (revision !== this.seen.revision || Math.abs(width - this.seen.width) > 24) {
      this.seen = { revision, width };
      this.changedAt = now;
    }
    const stale = revision !== this.rendered.revision || Math.abs(width - this.rendered.width) > 24;
    if (stale && !this.inFlight && (this.immediate || now - this.changedAt >= DEBOUNCE_MS)) {
      this.immediate = false;
      this.render(width);
    }
    this.highlight(this.core._qs_play_bar());
    requestAnimationFrame(this.tick);
  }

  render(width) {
    const xml = this.core.UTF8ToString(this.core._qs_musicxml());
    const revision = this.core._qs_score_revision();  // after qs_musicxml(), which brings it up to date
    if (!xml) {
      this.show([], revision, width, 0);
      this.status.textContent = 'No notes to engrave.';
      return;
    }
    if (!this.worker) {
      this.status.textContent = 'Loading the engraver…';
      this.worker = new Worker(new URL('score-worker.js', import.meta.url), { type: 'module' });
      this.worker.onmessage = ({ data }) => this.engraved(data);
      this.worker.onerror = (e) => this.failed(`The engraver could not start: ${e.message || 'unknown error'}`);
    }
    const options = {
      scale: SCALE, pageWidth: Math.max(800, Math.floor((width - 4) * 100 / SCALE)), pageHeight: 60000,
      adjustPageHeight: true, breaks: 'auto', header: 'none', footer: 'none',
      pageMarginLeft: 40, pageMarginRight: 40, pageMarginTop: 40, pageMarginBottom: 40,
    };
    this.inFlight = { id: this.nextId++, revision, width };
    this.worker.postMessage({ id: this.inFlight.id, xml, options });
  }

  engraved(data) {
    const job = this.inFlight;
    if (!job || data.id !== job.id) return;
    this.inFlight = null;
    if (data.error) {
      this.failed(data.error);
      this.rendered = { revision: job.revision, width: job.width };  // do not retry the same score
      return;
    }
    this.show(data.pages, job.revision, job.width, data.ms);
  }

  failed(message) {
    this.inFlight = null;
    this.error = message;
    this.status.textContent = message;
    this.panel.dataset.error = message;
    this.settle();
  }

  show(pages, revision, width, ms) {
    this.pages.innerHTML = pages.join('');
    this.measures = Array.from(this.pages.querySelectorAll('g.measure'));
    this.rendered = { revision, width };
    this.lastMs = ms;
    this.error = '';
    this.bar = -1;
    this.status.textContent = '';
    Object.assign(this.panel.dataset, {
      revision: String(revision), pages: String(pages.length), measures: String(this.measures.length), error: '',
    });
    this.settle();
  }

  // The bar at the play position gets the class qs-playing (and is scrolled into view).
  highlight(bar) {
    if (bar === this.bar) return;
    if (this.measures[this.bar]) this.measures[this.bar].classList.remove('qs-playing');
    this.bar = bar;
    this.panel.dataset.bar = String(bar);
    const m = this.measures[bar];
    if (!m) return;
    m.classList.add('qs-playing');
    const box = m.getBoundingClientRect(), view = this.panel.getBoundingClientRect();
    if (box.top < view.top || box.bottom > view.bottom) m.scrollIntoView({ block: 'center', behavior: 'auto' });
  }

  // Resolves once the panel shows the engraving of the core's current analysis (or an error).
  whenRendered() {
    return new Promise((resolve) => { this.waiters.push(resolve); this.settle(); });
  }

  settle() {
    if (!this.waiters.length) return;
    const current = this.core._qs_score_revision();
    if (!this.visible || this.error || (!this.inFlight && this.rendered.revision === current)) {
      const info = this.info();
      for (const w of this.waiters.splice(0)) w(info);
    }
  }

  info() {
    return {
      visible: this.visible, revision: this.rendered.revision, pages: this.pages.children.length,
      measures: this.measures.length, bar: this.bar, engraveMs: this.lastMs, error: this.error,
    };
  }
}
