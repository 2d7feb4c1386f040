// The inputs only the other model kinds have (explorer only): an encoder–decoder's optional target
// text (teacher forcing) and a tree's root label for the loss. Both are the State's `target`.
const $ = (id) => document.getElementById(id);

export function bindKindInputs(state, controller, maxChars) {
  const target = $("target-input"), label = $("label-select");
  target.value = state.target;
  target.addEventListener("input", () => state.set({ target: target.value.slice(0, maxChars) }, "input"));
  label.addEventListener("change", () => state.set({ target: label.value }));
  /** After each trace (and a change from a link): the boxes show the State. */
  return function sync() {
    if (controller.kind === "seq2seq" && document.activeElement !== target) target.value = state.target;
    const tr = controller.trace;
    if (controller.kind === "tree" && tr && tr.labels) {
      const options = [["", `the root's own prediction (${tr.nodes[tr.nodes.length - 1].predicted_label})`],
        ...tr.labels.map((l) => [l, l])];
      label.replaceChildren(...options.map(([v, text]) => new Option(text, v)));
      label.value = tr.labels.includes(state.target) ? state.target : "";
    }
  };
}
