// Reads [{rule, answers, own, choice, mode}, ...] or [{walk: questions, answers}, ...] as JSON on stdin; prints
// one result per case: true|false|"error" (mode "evaluate", the default), the value (mode "compute"), or the walk.
const logic = require(process.argv[2]);
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((c) => {
    try {
      if (c.walk) return logic.walk(c.walk, c.answers);
      const own = c.own === undefined ? null : c.own;
      if (c.mode === "compute") return logic.compute(c.rule, c.answers, own, c.choice || null);
      return logic.evaluate(c.rule, c.answers, own, c.choice || null);
    } catch (e) {
      if (e instanceof logic.RuleError) return "error";
      throw e;
    }
  });
  process.stdout.write(JSON.stringify(out));
});
