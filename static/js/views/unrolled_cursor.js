// The cursor over the current step of the unrolled network (views/unrolled.js) and the marker
// on the selected unit of its cell. A stack is thousands of SVG nodes, and moving anything inside
// an SVG lays the whole of it out again: there (overlay) both are HTML boxes over the drawing,
// moved by a transform (the drawing is at its own size, never scaled); in a single row, SVG rects.
import { svg, el } from "../dom.js";

export class StepCursor {
  /** overlay: HTML boxes (the caller puts them in the drawing's box) or SVG rects (in the
   * network's group); w: a step's width, height: the network's, band: the drawing's top margin. */
  constructor(overlay, { w, height, band }) {
    this.overlay = overlay;
    this.band = band;
    this.box = overlay ? el("div", { class: "unrolled-cursor" })
      : svg("rect", { class: "cursor", x: 0, y: 4, width: w, height: height - 8, rx: 8 });
    if (overlay) Object.assign(this.box.style, { top: `${band + 4}px`, width: `${w}px`, height: `${height - 8}px` });
    this.marker = overlay ? el("div", { class: "unrolled-marker" }) : svg("rect", { class: "unit-marker", width: 0, height: 0 });
  }

  /** Over the step whose column starts at x (network coordinates), orange in the backward pass. */
  moveTo(x, backward) {
    if (this.overlay) this.box.style.transform = `translateX(${x}px)`;
    else this.box.setAttribute("x", x);
    this.box.classList.toggle("backward", backward);
  }

  /** The marker around the unit square at (x, y) of that size (network coordinates). */
  mark(x, y, width, height) {
    if (this.overlay) {
      Object.assign(this.marker.style, { width: `${width}px`, height: `${height}px`,
        transform: `translate(${x}px, ${y + this.band}px)` });
    } else {
      this.marker.setAttribute("x", x);
      this.marker.setAttribute("y", y);
      this.marker.setAttribute("width", width);
      this.marker.setAttribute("height", height);
    }
  }
}
