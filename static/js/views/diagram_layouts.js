// The geometry of the cell diagrams, in colah's "Understanding LSTM Networks" vocabulary: the
// state line across the top, yellow boxes for the learned layers (σ, tanh), pink circles for the
// pointwise operations, the inputs [h_{t-1}, x_t] on a bus at the bottom. Each wire's path runs
// in the forward direction (the backward dot runs it the other way); `badge` is where its value
// sits, `only` limits it to one phase. Coordinates are viewBox units (W × H below).

export const W = 1200, H = 690;
const TOP = 120, BUS = 540, GATE = 430, X_IN = 685;   // the state line, the bus, the gate row

const P = (...pts) => "M " + pts.map(([x, y]) => `${x} ${y}`).join(" L ");

/** A wire: id (diagram_values' name), path, class, badge position. */
const wire = (id, d, cls, badge = null, only = null) => ({ id, d, cls, badge, only });

const BOX = { x: 160, y: 70, w: 930, h: 520 };   // the cell's outline

function lstm(peephole) {
  const wires = [
    wire("c_prev", P([20, TOP], [282, TOP]), "state", [125, TOP]),
    wire("fc", P([318, TOP], [522, TOP]), "state", [420, TOP]),
    wire("c", P([558, TOP], [830, TOP]), "state", [660, TOP]),
    wire("c_out", P([830, TOP], [1180, TOP]), "state", [1110, TOP]),
    wire("c_tanh", P([830, TOP], [830, 178]), "state", [942, 182], "backward"),
    wire("tanh_c", P([830, 222], [830, 312]), "gate", [830, 270]),
    wire("h_prev", P([20, BUS], [660, BUS]), "bus", [115, BUS]),
    wire("f", P([300, GATE - 20], [300, TOP + 18]), "gate", [300, 295]),
    wire("i", P([420, GATE - 20], [420, 300], [522, 300]), "gate", [420, 358]),
    wire("g", P([540, GATE - 20], [540, 318]), "gate", [540, 368]),
    wire("ig", P([540, 282], [540, TOP + 18]), "gate", [540, 205]),
    wire("o", P([660, GATE - 20], [660, 330], [812, 330]), "gate", [715, 330]),
    wire("h", P([848, 330], [1030, 330]), "out", [945, 330]),
    wire("h_up", P([1030, 330], [1030, 12]), "out", [950, 50]),
    wire("h_out", P([1030, 330], [1030, BUS], [1180, BUS]), "out", [1110, BUS]),
  ];
  for (const [id, x] of [["a_f", 300], ["a_i", 420], ["a_g", 540], ["a_o", 660]]) {
    wires.push(wire(id, P([x, BUS], [x, GATE + 20]), "stub", [x, 495], "backward"));
  }
  if (peephole) {
    wires.push(wire("p_f", P([275, TOP], [275, GATE - 20]), "peep"));
    wires.push(wire("p_i", P([240, TOP], [240, 392], [400, 392], [400, GATE - 20]), "peep"));
    wires.push(wire("p_o", P([600, TOP], [600, 392], [640, 392], [640, GATE - 20]), "peep"));
  }
  return {
    wires,
    ops: [["times", 300, TOP], ["plus", 540, TOP], ["times", 540, 300], ["times", 830, 330]],
    boxes: [
      { x: 300, y: GATE, label: "σ", name: "f" }, { x: 420, y: GATE, label: "σ", name: "i" },
      { x: 540, y: GATE, label: "tanh", name: "g" }, { x: 660, y: GATE, label: "σ", name: "o" },
      { x: 830, y: 200, label: "tanh", name: "", op: true },
    ],
    peepLabels: peephole ? [["p_f", 282, 250, "start"], ["p_i", 232, 372, "end"], ["p_o", 608, 262, "start"]] : [],
    junctions: [[1030, 330], [830, TOP]],
    outAt: [1180, BUS + 48], upAt: [1040, 24, "start"],
  };
}

function gru() {
  const J = 275;   // where z splits into z and 1 − z
  return {
    wires: [
      wire("h_prev", P([20, TOP], [282, TOP]), "state", [112, TOP]),
      wire("bus", P([185, TOP], [185, BUS], [820, BUS]), "bus"),
      wire("zh", P([318, TOP], [802, TOP]), "state", [560, TOP]),
      wire("h", P([838, TOP], [985, TOP]), "state", [910, TOP]),
      wire("h_out", P([985, TOP], [1180, TOP]), "out", [1115, TOP]),
      wire("h_up", P([985, TOP], [985, 12]), "out", [985, 41]),
      wire("z", P([300, GATE - 20], [300, TOP + 18]), "gate", [300, 342]),
      wire("omz", P([300, J], [464, J], [496, J], [802, J]), "gate", [650, J]),
      wire("zn", P([820, J - 18], [820, TOP + 18]), "gate", [820, 198]),
      wire("r", P([420, GATE - 20], [420, 340], [557, 340]), "gate", [490, 340]),
      wire("m", P([575, BUS], [575, 517], [575, 483], [575, 358]), "gate", [575, 420]),
      wire("rm", P([593, 340], [690, 340], [690, GATE], [788, GATE]), "gate", [690, 395]),
      wire("n", P([820, GATE - 20], [820, J + 18]), "gate", [820, 352]),
      wire("a_z", P([300, BUS], [300, GATE + 20]), "stub", [300, 495], "backward"),
      wire("a_r", P([420, BUS], [420, GATE + 20]), "stub", [420, 495], "backward"),
      wire("a_n", P([820, BUS], [820, GATE + 20]), "stub", [820, 495], "backward"),
    ],
    ops: [["times", 300, TOP], ["plus", 820, TOP], ["times", 820, J], ["oneminus", 480, J],
      ["times", 575, 340]],
    boxes: [
      { x: 300, y: GATE, label: "σ", name: "z" }, { x: 420, y: GATE, label: "σ", name: "r" },
      { x: 820, y: GATE, label: "tanh", name: "n" },
      { x: 575, y: 500, label: "W_hn·+b", name: "m", linear: true, w: 110 },
    ],
    peepLabels: [],
    junctions: [[185, TOP], [300, J], [985, TOP]],
    outAt: [1180, TOP - 46], upAt: [910, 24, "end"],
  };
}

function rnn(relu) {
  return {
    wires: [
      wire("h_prev", P([20, BUS], [560, BUS]), "bus", [115, BUS]),
      wire("a", P([560, BUS], [560, GATE + 20]), "stub", [560, 495]),
      wire("h", P([560, GATE - 20], [560, 250], [930, 250]), "out", [560, 330]),
      wire("h_up", P([930, 250], [930, 12]), "out", [930, 70]),
      wire("h_out", P([930, 250], [1180, 250]), "out", [1100, 250]),
    ],
    ops: [],
    boxes: [{ x: 560, y: GATE, label: relu ? "ReLU" : "tanh", name: "", w: 110 }],
    peepLabels: [],
    junctions: [[930, 250]],
    outAt: [1180, 312], upAt: [920, 24, "end"],
  };
}

/** The layout of a trace's cell, with the input wire (x_t or the layer below) added. */
export function layoutFor(tr) {
  const base = tr.cell === "lstm" ? lstm(tr.peephole) : tr.cell === "gru" ? gru() : rnn(tr.nonlinearity === "relu");
  base.wires.push(wire("x", P([240, X_IN], [240, BUS]), "bus", [240, 612]));
  base.junctions.push([240, BUS]);
  base.box = BOX;
  return base;
}
