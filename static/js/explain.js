// Explanations a student can open with the ⓘ buttons (cnn-explainer style). Plain text only.

export const EXPLAIN = {
  model: ["The model",
    "A recurrent network reads a sequence one token at a time. RNN, LSTM and GRU are three kinds of " +
    "cell. The task says what the network was trained to predict (for example the next character)."],
  text: ["Your sentence",
    "Type any sentence. Typing at the end feeds the new characters to the network one step at a time " +
    "(live), without recomputing the whole sentence. Editing in the middle recomputes everything."],
  tokens: ["Tokens and one-hot vectors",
    "The sentence is cut into tokens (characters or words). Each token becomes a one-hot vector x_t: " +
    "all zeros except a single 1 at the token's index in the vocabulary. Click a chip to see it. " +
    "A model trained on lower-case text reads a capital as its lower-case letter (the chip shows T→t). " +
    "A token the model does not know is dimmed: it reads the zero vector there (all zeros, no 1), or " +
    "<unk> if its vocabulary has one, and no guess is scored against it."],
  clip: ["Gradient clipping and truncated BPTT",
    "Clipping rescales the whole gradient when its norm exceeds the value you choose, which tames " +
    "exploding gradients. Truncated BPTT limits how far back gradients travel, in one of two ways. " +
    "Chunked (the default, as usually taught and trained): the sentence is cut into chunks of k steps; " +
    "forward and backward run within each chunk; the hidden state is carried into the next chunk, but " +
    "detached, so no gradient crosses a chunk boundary (the dashed lines in the unrolled network, the " +
    "outlined blocks of the gradient-flow matrix). Sliding window: each loss's gradient reaches exactly " +
    "k steps back, then stops (no chunks; one-layer models only). Changing either recomputes the trace."],
  player: ["The player",
    "The scrubber covers the forward pass (t = 0 … T−1, values flow left to right) and then the " +
    "backward pass (t = T−1 … 0, gradients flow right to left). Keys: Space plays or pauses, " +
    "← and → step, Home and End jump to the start or the end."],
  unrolled: ["The unrolled network",
    "The same cell is drawn once per timestep: x_t enters from below, the prediction y_t leaves at the " +
    "top, and the hidden state h_t (and the cell state c_t in an LSTM) flows to the next step. Every " +
    "recurrent arrow is the same matrix W_hh: the weights are shared across time. The zero initial " +
    "state is drawn as h₋₁ = 0 because steps count from 0 here (books that count from 1 write h_0 = 0). In the backward pass the orange arrows carry dL/dh_t to the left; their width " +
    "follows ‖dL/dh_t‖ on a log scale so tiny gradients stay visible. Each step adds its share to dW_hh. " +
    "With chunked truncation (Truncate k), dashed dividers mark the chunks: the state crosses them " +
    "(dashed arrow), the gradient does not (✕)."],
  cell: ["Inside the cell",
    "Each column is one hidden unit, each row one quantity at the selected step. Gates that pass " +
    "through a sigmoid (i, f, o, r, z) lie between 0 (closed) and 1 (open) and use the viridis scale. " +
    "Signed values (g, n, c, h, pre-activations) use blue for negative and orange for positive. " +
    "Click a unit to see its equations."],
  equations: ["Equations with numbers",
    "The cell's equations for the selected unit at the selected step, with the actual numbers. In the " +
    "backward phase you also see the gradients arriving at that step. ‘Check gradient’ asks the server " +
    "to compare the analytic gradient with a finite difference."],
  views: ["Views over time",
    "Heatmaps show every unit (rows) at every step (columns). Gradients shows ‖dL/dh_t‖ on a log scale " +
    "and the matrix ‖∂L_t/∂h_s‖: how much the loss at step t depends on the state at an earlier step s. " +
    "Fading colours to the left mean vanishing gradients. Compare runs your sentence through an RNN, an " +
    "LSTM and a GRU side by side. Generate lets a language model continue your sentence. The Cell " +
    "diagram draws the cell as in colah's \"Understanding LSTM Networks\" (yellow boxes are learned " +
    "layers, pink circles pointwise operations) with this step's value of the selected unit on every " +
    "wire and a bar for every unit; in the backward phase the wires carry the gradients δv = ∂L/∂v, " +
    "each with the factor the chain rule multiplies it by on that wire (× f_t, × (1 − tanh²c_t), …)."],
  generate: ["Generating text, one token at a time",
    "A language model predicts a distribution over the next token. To generate, it is primed with your " +
    "sentence, then a token is drawn from that distribution and fed back in as the next input, again and " +
    "again: one input, a whole sequence out (one-to-many). The temperature T divides the scores z before " +
    "the softmax, p = softmax(z / T): below 1 the favourite gets even more likely, above 1 the choice " +
    "gets more random, and T = 0 always takes the most likely token (the argmax). The bars show p at " +
    "your temperature; the dashed mark is the model's own probability (T = 1). The seed fixes the " +
    "random draws: the same seed and temperature give the same text. Step through with ◀ ▶ or press " +
    "Play (while this tab is open, the main player's buttons and the keys ← → Space, Home and End step " +
    "through the generation too): each step shows the input, the hidden state h (and c in an LSTM), the distribution and the " +
    "token drawn, which returns as the next input along the dashed arrow."],
  path: ["The hidden state's path",
    "The hidden state h_t has H numbers: too many to draw. PCA finds the two directions in which this " +
    "model's own states (over its training data, the grey cloud) vary most, and each h_t is drawn as its " +
    "coordinates along them (PC1 across, PC2 up), joined from the zero initial state h₋₁ = 0 through every " +
    "step. The axes are fitted once per model, never on your sentence, so the same state always lands on the " +
    "same point and two sentences can be compared: type a second one and both are drawn. With the " +
    "question model, 'you are good' and 'are you good' read the same words, yet their paths part ways: " +
    "the order is all the network has to tell a statement from a question. The percentages say how much " +
    "of the states' variance each axis shows; what they leave out is not drawn. The ring marks step t."],
  units: ["Finding units",
    "Some units of a trained network track one thing: being inside quotes, the end of a word, a question. " +
    "To look for them, select a span of tokens. For each unit k the score is the mean of its value over the " +
    "span minus its mean over the rest of the sentence; the list shows the units with the highest scores " +
    "(or the lowest, or the largest either way). Click a unit: every view shows it, and the sentence is " +
    "coloured by its value at each step (blue negative, orange positive). One sentence proves little: try " +
    "the unit on other sentences before believing what it does."],
  train: ["Training a model here",
    "The server trains a character language model on your text: at every step it reads one chunk of " +
    "the text (the sequence length), predicts each next character, backpropagates through that chunk " +
    "only (truncated BPTT) and updates every weight with Adam. The hidden state at the end of a chunk " +
    "is carried into the next chunk, so the model still sees what came before, but no gradient crosses " +
    "the boundary. The curve is the loss per predicted character (cross-entropy), smoothed over " +
    "steps. Every few steps the server keeps a snapshot of the weights and writes " +
    "a sample with them (temperature 1). Drag the snapshot slider (or click a dot on the curve): the " +
    "network, the cell, its gates and the gradients above show your sentence as the model saw it at " +
    "that moment of training. Stop keeps the model learned so far; it joins the model menu, survives " +
    "a restart of the server and can be downloaded as an .npz file."],
  order: ["Order matters",
    "A bag-of-words network forgets the order: its input x is the sum of the sentence's one-hot rows, " +
    "how often each word occurs, then h = tanh(W x + b) and p = softmax(U h + c). 'you are good' and " +
    "'are you good' have the same words, so the same x (the rows drawn here add up to the same last " +
    "row) and necessarily the same answer. The recurrent model next to it was trained on the same " +
    "sentences; it reads one word after the other, keeps what came first in its hidden state, and can " +
    "tell them apart. Both models' accuracy is measured on the same sentences. Edit either sentence; " +
    "a word the model does not know is marked ‹word›? and read as <unk>."],
  ledger: ["Running totals",
    "Forward: the losses of the steps seen so far, summed. Backward: the norm of the running sum of the " +
    "contributions to dW_hh, from the last step back to the current one; BPTT adds one term per step."],
  seq2seq: ["The encoder–decoder",
    "The encoder reads the source from a zero state, one token per step. Its last state is the context " +
    "vector c: the decoder starts from it, reads <bos> and then the previous output token (the target's, " +
    "with teacher forcing), and predicts the next token until <eos>. With attention, each decoder step " +
    "also scores every encoder state, α = softmax(score), and mixes them, ctx = Σ α h̄, before predicting. " +
    "The player runs over the encoder's steps, the context vector, then the decoder's steps; backward " +
    "goes from the last decoder step back into the encoder, through the context vector and, with " +
    "attention, through every attention line at once: in the backward phase a line is as wide as the " +
    "gradient it carries from its decoder step back to its encoder state (α times the gradient of the " +
    "context, plus the part through the score), on a log scale. What-if: drag a decoder step onto a source token, " +
    "click a box of the α map, or move the sliders: the engine recomputes that step with your α. That " +
    "is an intervention, not what the model computes; Reset gives the model its attention back."],
  tree: ["The tree network",
    "A recursive network applies the same weights over a tree instead of a chain. The leaves (at the " +
    "bottom) are word vectors; each node combines its two children, p = tanh(W [c_l; c_r] + b), and a " +
    "softmax head says which class the phrase under it is. Forward computes the nodes children first, " +
    "so values flow up to the root; backward starts from the root's loss and sends each node's gradient " +
    "down to its children. Type brackets to choose the tree, ((the movie) (was (not good))); without " +
    "them the phrase is read right-branching. Click a node to see its numbers."],
};

/** Wire every [data-explain] button to the info panel. */
export function registerExplanations(root = document) {
  const panel = root.getElementById("info-panel");
  if (!panel) return;
  const title = root.getElementById("info-title");
  const body = root.getElementById("info-body");
  const open = (key) => {
    const entry = EXPLAIN[key];
    if (!entry) return;
    title.textContent = entry[0];
    body.textContent = entry[1];
    panel.hidden = false;
    panel.dataset.key = key;
  };
  root.addEventListener("click", (ev) => {
    const btn = ev.target.closest("[data-explain]");
    if (btn) {
      if (!panel.hidden && panel.dataset.key === btn.dataset.explain) panel.hidden = true;
      else open(btn.dataset.explain);
    }
  });
  root.getElementById("info-close").addEventListener("click", () => { panel.hidden = true; });
  root.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") panel.hidden = true;
  });
}
