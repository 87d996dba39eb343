// Reads [{rule, answers, own}, ...] as JSON on stdin; prints [true|false|"error", ...] — for test_logic.py.
const logic = require(process.argv[2]);
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((c) => {
    try {
      return logic.evaluate(c.rule, c.answers, c.own === undefined ? null : c.own);
    } catch (e) {
      if (e instanceof logic.RuleError) return "error";
      throw e;
    }
  });
  process.stdout.write(JSON.stringify(out));
});
