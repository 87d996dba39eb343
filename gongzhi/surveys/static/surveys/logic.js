/* The survey rule language in the browser: a line-for-line port of gongzhi/surveys/logic.py (read its docstring
   for the grammar and semantics). tests/test_logic.py runs the same cases through both and compares.
   Exposes window.GongzhiLogic = {parse, evaluate, compute, choiceCodes, walk, truthy, RuleError} (and
   module.exports under node). */
(function (root) {
  "use strict";

  var FUNCTIONS = { selected: 2, count: 1, answered: 1, if: 3, coalesce: 2, number: 1 };
  var CHOICE_ATTRS = ["code", "tag"];
  var NUMBER_TEXT = /^-?[0-9]+(\.[0-9]+)?$/;
  var MAX_LENGTH = 500;
  var MAX_DEPTH = 20;
  var TOKEN = /[ \t\r\n]*(?:([0-9]+(?:\.[0-9]+)?)|('[^']*')|(\$\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)?\})|(@[A-Za-z_]+)|(<=|>=|!=|=|<|>|\(|\)|,|\.|\+|-|\*|\/)|([A-Za-z_]+))/y;
  var KINDS = ["num", "str", "ref", "attr", "op", "name"];

  function RuleError(message) {
    this.name = "RuleError";
    this.message = message;
  }
  RuleError.prototype = Object.create(Error.prototype);

  function tokenize(text) {
    var out = [];
    var pos = 0;
    if (text.length > MAX_LENGTH) throw new RuleError("the rule is longer than " + MAX_LENGTH + " characters");
    text = text.replace(/[ \t\r\n]+$/, "");
    while (pos < text.length) {
      TOKEN.lastIndex = pos;
      var m = TOKEN.exec(text);
      if (!m || TOKEN.lastIndex === pos) throw new RuleError("unexpected character at " + (pos + 1));
      for (var g = 1; g <= 6; g++) {
        if (m[g] !== undefined) {
          out.push([KINDS[g - 1], m[g]]);
          break;
        }
      }
      pos = TOKEN.lastIndex;
    }
    return out;
  }

  function Parser(text) {
    this.tokens = tokenize(text);
    this.i = 0;
    this.depth = 0;
  }
  Parser.prototype.nest = function () {
    this.depth += 1;
    if (this.depth > MAX_DEPTH) throw new RuleError("the rule nests deeper than " + MAX_DEPTH + " levels");
  };
  Parser.prototype.peek = function () {
    return this.i < this.tokens.length ? this.tokens[this.i] : null;
  };
  Parser.prototype.take = function () {
    var tok = this.peek();
    if (tok === null) throw new RuleError("the rule ends too early");
    this.i += 1;
    return tok;
  };
  Parser.prototype.expect = function (value) {
    var tok = this.take();
    if (tok[1] !== value) throw new RuleError("expected " + value + ", found " + tok[1]);
  };
  Parser.prototype.word = function (w) {
    var tok = this.peek();
    return tok !== null && tok[0] === "name" && tok[1] === w;
  };
  Parser.prototype.parse = function () {
    if (!this.tokens.length) throw new RuleError("the rule is empty");
    var node = this.or_();
    if (this.peek() !== null) throw new RuleError("unexpected " + this.peek()[1]);
    return node;
  };
  Parser.prototype.or_ = function () {
    var node = this.and_();
    while (this.word("or")) {
      this.i += 1;
      node = { kind: "or", args: [node, this.and_()] };
    }
    return node;
  };
  Parser.prototype.and_ = function () {
    var node = this.not_();
    while (this.word("and")) {
      this.i += 1;
      node = { kind: "and", args: [node, this.not_()] };
    }
    return node;
  };
  Parser.prototype.not_ = function () {
    if (this.word("not")) {
      this.i += 1;
      this.nest();
      return { kind: "not", args: [this.not_()] };
    }
    return this.compare();
  };
  Parser.prototype.op = function (ops) {
    var tok = this.peek();
    if (tok !== null && tok[0] === "op" && ops.indexOf(tok[1]) >= 0) {
      this.i += 1;
      return tok[1];
    }
    return null;
  };
  var CMP = ["=", "!=", "<", "<=", ">", ">="];
  Parser.prototype.compare = function () {
    var left = this.sum();
    var op = this.op(CMP);
    if (op !== null) return { kind: "cmp", value: op, args: [left, this.sum()] };
    return left;
  };
  Parser.prototype.sum = function () {
    var node = this.product();
    var op = this.op(["+", "-"]);
    while (op !== null) {
      node = { kind: "arith", value: op, args: [node, this.product()] };
      op = this.op(["+", "-"]);
    }
    return node;
  };
  Parser.prototype.product = function () {
    var node = this.unary();
    var op = this.op(["*", "/"]);
    while (op !== null) {
      node = { kind: "arith", value: op, args: [node, this.unary()] };
      op = this.op(["*", "/"]);
    }
    return node;
  };
  Parser.prototype.unary = function () {
    if (this.op(["-"]) !== null) {
      this.nest();
      return { kind: "neg", args: [this.unary()] };
    }
    return this.value();
  };
  Parser.prototype.value = function () {
    var tok = this.take();
    var kind = tok[0];
    var text = tok[1];
    if (kind === "num") return { kind: "lit", value: Number(text), isFloat: text.indexOf(".") >= 0 };
    if (kind === "str") return { kind: "lit", value: text.slice(1, -1) };
    if (kind === "ref") return { kind: "ref", value: text.slice(2, -1) };
    if (kind === "attr") {
      if (CHOICE_ATTRS.indexOf(text.slice(1)) < 0) throw new RuleError("unknown option attribute " + text);
      return { kind: "attr", value: text.slice(1) };
    }
    if (kind === "op" && text === ".") return { kind: "self" };
    if (kind === "op" && text === "(") {
      this.nest();
      var node = this.or_();
      this.expect(")");
      return node;
    }
    if (kind === "name") {
      if (text === "true" || text === "false") return { kind: "lit", value: text === "true" };
      if (text === "null") return { kind: "lit", value: null };
      if (Object.prototype.hasOwnProperty.call(FUNCTIONS, text)) {
        this.nest();
        this.expect("(");
        var args = [this.or_()];
        while (this.peek() !== null && this.peek()[1] === ",") {
          this.i += 1;
          args.push(this.or_());
        }
        this.expect(")");
        if (args.length !== FUNCTIONS[text]) {
          throw new RuleError(text + "() takes " + FUNCTIONS[text] + " argument(s), got " + args.length);
        }
        return { kind: "call", value: text, args: args };
      }
      throw new RuleError("unknown name " + text);
    }
    throw new RuleError("unexpected " + text);
  };

  function parse(text) {
    return new Parser(text).parse();
  }

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  function truthy(v) {
    if (v === true) return true;
    if (v === null || v === undefined || v === false) return false;
    if (typeof v === "number") return v !== 0;
    if (typeof v === "string" || Array.isArray(v)) return v.length > 0;
    if (isObject(v)) return Object.keys(v).length > 0;
    return false;
  }

  function isNum(v) {
    return typeof v === "number";
  }

  function equal(a, b) {
    if (a === null || a === undefined || b === null || b === undefined) {
      return (a === null || a === undefined) && (b === null || b === undefined);
    }
    if (isNum(a) && isNum(b)) return a === b;
    if (typeof a === "string" && typeof b === "string") return a === b;
    if (typeof a === "boolean" && typeof b === "boolean") return a === b;
    return false;
  }

  // Python compares strings by code point, JavaScript by UTF-16 unit: compare by code point here.
  function compareStrings(a, b) {
    var x = Array.from(a);
    var y = Array.from(b);
    var n = Math.min(x.length, y.length);
    for (var i = 0; i < n; i++) {
      var cx = x[i].codePointAt(0);
      var cy = y[i].codePointAt(0);
      if (cx !== cy) return cx < cy ? -1 : 1;
    }
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }

  function order(op, a, b) {
    var c;
    if (isNum(a) && isNum(b)) c = a < b ? -1 : a > b ? 1 : 0;
    else if (typeof a === "string" && typeof b === "string") c = compareStrings(a, b);
    else return false;
    if (op === "<") return c < 0;
    if (op === "<=") return c <= 0;
    if (op === ">") return c > 0;
    return c >= 0;
  }

  function lookup(answers, key) {
    var v;
    var dot = key.indexOf(".");
    if (dot >= 0) {
      v = Object.prototype.hasOwnProperty.call(answers, key.slice(0, dot)) ? answers[key.slice(0, dot)] : null;
      var row = key.slice(dot + 1);
      return isObject(v) && Object.prototype.hasOwnProperty.call(v, row) ? v[row] : null;
    }
    return Object.prototype.hasOwnProperty.call(answers, key) ? answers[key] : null;
  }

  function arith(op, a, b) {
    if (!(isNum(a) && isNum(b))) return null;
    var r;
    if (op === "+") r = a + b;
    else if (op === "-") r = a - b;
    else if (op === "*") r = a * b;
    else if (b === 0) return null;
    else r = a / b;
    return isFinite(r) ? r : null;
  }

  function toNumber(x) {
    if (isNum(x)) return x;
    if (typeof x === "string" && NUMBER_TEXT.test(x)) return Number(x);
    return null;
  }

  function isEmpty(x) {
    return x === null || x === undefined || x === "" || (Array.isArray(x) && x.length === 0);
  }

  function ev(node, answers, own, choice) {
    var k = node.kind;
    if (k === "lit") return node.value;
    if (k === "ref") return lookup(answers, node.value);
    if (k === "self") return own === undefined ? null : own;
    if (k === "attr") {
      var a0 = choice && Object.prototype.hasOwnProperty.call(choice, node.value) ? choice[node.value] : null;
      return typeof a0 === "string" ? a0 : null;
    }
    if (k === "not") return !truthy(ev(node.args[0], answers, own, choice));
    if (k === "and") {
      return truthy(ev(node.args[0], answers, own, choice)) && truthy(ev(node.args[1], answers, own, choice));
    }
    if (k === "or") {
      return truthy(ev(node.args[0], answers, own, choice)) || truthy(ev(node.args[1], answers, own, choice));
    }
    if (k === "neg") {
      var x0 = ev(node.args[0], answers, own, choice);
      return isNum(x0) ? -x0 : null;
    }
    if (k === "arith") {
      return arith(node.value, ev(node.args[0], answers, own, choice), ev(node.args[1], answers, own, choice));
    }
    if (k === "cmp") {
      var a = ev(node.args[0], answers, own, choice);
      var b = ev(node.args[1], answers, own, choice);
      if (node.value === "=") return equal(a, b);
      if (node.value === "!=") return !equal(a, b);
      return order(node.value, a, b);
    }
    if (node.value === "if") {
      var cond = truthy(ev(node.args[0], answers, own, choice));
      return ev(node.args[cond ? 1 : 2], answers, own, choice);
    }
    var args = node.args.map(function (n) {
      return ev(n, answers, own, choice);
    });
    var x = args[0];
    if (node.value === "selected") {
      if (Array.isArray(x)) return typeof args[1] === "string" ? x.indexOf(args[1]) >= 0 : false;
      return typeof x === "string" && typeof args[1] === "string" && x === args[1];
    }
    if (node.value === "count") {
      if (Array.isArray(x)) return x.length;
      return x === null || x === undefined || x === "" ? 0 : 1;
    }
    if (node.value === "coalesce") return isEmpty(x) ? args[1] : x;
    if (node.value === "number") return toNumber(x);
    return !isEmpty(x);
  }

  function evaluate(rule, answers, own, choice) {
    var node = typeof rule === "string" ? parse(rule) : rule;
    return truthy(ev(node, answers || {}, own, choice || null));
  }

  function compute(rule, answers, own, choice) {
    var node = typeof rule === "string" ? parse(rule) : rule;
    var v = ev(node, answers || {}, own, choice || null);
    return v === undefined ? null : v;
  }

  function choiceCodes(q, seen) {
    var choices = q.choices || [];
    if (!q.choice_filter) return choices.map(function (c) { return c.code; });
    var node = parse(q.choice_filter);
    return choices
      .filter(function (c) { return evaluate(node, seen, null, c); })
      .map(function (c) { return c.code; });
  }

  // The same walk as logic.walk on the server: shown questions, calculated values, options kept by filters.
  function walk(questions, answers) {
    var seen = {};
    var shown = [];
    var values = {};
    var options = {};
    questions.forEach(function (q) {
      var key = q.key;
      if (q.relevant && !evaluate(q.relevant, seen)) return;
      if (q.type === "calculate") {
        var v = compute(q.calculation, seen);
        if (v !== null) {
          seen[key] = v;
          values[key] = v;
        }
        return;
      }
      if (q.choice_filter) {
        var codes = choiceCodes(q, seen);
        if (!codes.length) return;
        options[key] = codes;
      }
      shown.push(key);
      if (Object.prototype.hasOwnProperty.call(answers, key) && answers[key] !== null && answers[key] !== undefined) {
        seen[key] = answers[key];
      }
    });
    return { shown: shown, values: values, options: options, seen: seen };
  }

  var api = {
    parse: parse,
    evaluate: evaluate,
    compute: compute,
    choiceCodes: choiceCodes,
    walk: walk,
    truthy: truthy,
    RuleError: RuleError,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.GongzhiLogic = api;
})(this);
