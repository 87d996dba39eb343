/* The survey rule language in the browser: a line-for-line port of gongzhi/surveys/logic.py (read its docstring
   for the grammar and semantics). tests/test_logic.py runs the same cases through both and compares.
   Exposes window.GongzhiLogic = {parse, evaluate, truthy, RuleError} (and module.exports under node). */
(function (root) {
  "use strict";

  var FUNCTIONS = { selected: 2, count: 1, answered: 1 };
  var MAX_LENGTH = 500;
  var MAX_DEPTH = 20;
  var TOKEN = /[ \t\r\n]*(?:([0-9]+(?:\.[0-9]+)?)|('[^']*')|(\$\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)?\})|(<=|>=|!=|=|<|>|\(|\)|,|\.)|([A-Za-z_]+))/y;
  var KINDS = ["num", "str", "ref", "op", "name"];

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
      for (var g = 1; g <= 5; g++) {
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
  var CMP = ["=", "!=", "<", "<=", ">", ">="];
  Parser.prototype.compare = function () {
    var left = this.value();
    var tok = this.peek();
    if (tok !== null && tok[0] === "op" && CMP.indexOf(tok[1]) >= 0) {
      this.i += 1;
      return { kind: "cmp", value: tok[1], args: [left, this.value()] };
    }
    return left;
  };
  Parser.prototype.value = function () {
    var tok = this.take();
    var kind = tok[0];
    var text = tok[1];
    if (kind === "num") return { kind: "lit", value: Number(text), isFloat: text.indexOf(".") >= 0 };
    if (kind === "str") return { kind: "lit", value: text.slice(1, -1) };
    if (kind === "ref") return { kind: "ref", value: text.slice(2, -1) };
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

  function ev(node, answers, own) {
    var k = node.kind;
    if (k === "lit") return node.value;
    if (k === "ref") return lookup(answers, node.value);
    if (k === "self") return own === undefined ? null : own;
    if (k === "not") return !truthy(ev(node.args[0], answers, own));
    if (k === "and") return truthy(ev(node.args[0], answers, own)) && truthy(ev(node.args[1], answers, own));
    if (k === "or") return truthy(ev(node.args[0], answers, own)) || truthy(ev(node.args[1], answers, own));
    if (k === "cmp") {
      var a = ev(node.args[0], answers, own);
      var b = ev(node.args[1], answers, own);
      if (node.value === "=") return equal(a, b);
      if (node.value === "!=") return !equal(a, b);
      return order(node.value, a, b);
    }
    var args = node.args.map(function (n) {
      return ev(n, answers, own);
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
    return !(x === null || x === undefined || x === "" || (Array.isArray(x) && x.length === 0));
  }

  function evaluate(rule, answers, own) {
    var node = typeof rule === "string" ? parse(rule) : rule;
    return truthy(ev(node, answers || {}, own));
  }

  var api = { parse: parse, evaluate: evaluate, truthy: truthy, RuleError: RuleError };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.GongzhiLogic = api;
})(this);
