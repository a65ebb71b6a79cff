// Reads a JSON array of statements on standard input; writes, for each, the warnings of
// Learning Locker's xAPI validation (an empty list: it accepts the statement).
const validate = require("@learninglocker/xapi-validation").default;
let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { text += chunk; });
process.stdin.on("end", () => {
  const answers = JSON.parse(text).map((statement) =>
    validate(statement).map((w) => `${(w.path || []).join(".")}: ${w.constructor.name} ${w.message || ""}`.trim()),
  );
  process.stdout.write(JSON.stringify(answers));
});
