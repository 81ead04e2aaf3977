import ts from 'typescript';
import { snippetOf, type Finding, type Severity } from './rules.js';

export interface TsThresholds {
  /** Cyclomatic complexity above which a function is reported. */
  complexity: number;
  /** Lines above which a function is reported as very long. */
  functionLines: number;
}

export const defaultThresholds: TsThresholds = { complexity: 15, functionLines: 80 };

const scriptKinds: Record<string, ts.ScriptKind> = {
  '.ts': ts.ScriptKind.TS,
  '.mts': ts.ScriptKind.TS,
  '.cts': ts.ScriptKind.TS,
  '.tsx': ts.ScriptKind.TSX,
  '.js': ts.ScriptKind.JS,
  '.mjs': ts.ScriptKind.JS,
  '.cjs': ts.ScriptKind.JS,
  '.jsx': ts.ScriptKind.JSX,
};

/** The TypeScript script kind for a file name, or undefined when it is not TypeScript or JavaScript. */
export function scriptKindOf(fileName: string): ts.ScriptKind | undefined {
  const ext = /\.[^./\\]+$/.exec(fileName.toLowerCase())?.[0];
  return ext === undefined ? undefined : scriptKinds[ext];
}

/** What the walk over one file collects; turned into findings at the end. */
class FileAnalysis {
  readonly findings: Finding[] = [];
  readonly lines: string[];
  /** Local names bound to node:child_process (namespace/default imports and its exec functions). */
  readonly childProcessNames = new Set<string>();
  /** Names imported from somewhere else: a bare `exec` from another module is not a shell. */
  readonly otherImports = new Set<string>();

  constructor(
    readonly file: string,
    readonly sf: ts.SourceFile,
    readonly thresholds: TsThresholds,
  ) {
    this.lines = sf.text.split(/\r?\n/);
  }

  add(node: ts.Node | number, rule: string, severity: Severity, message: string): void {
    const pos = typeof node === 'number' ? node : node.getStart(this.sf);
    const { line, character } = this.sf.getLineAndCharacterOfPosition(pos);
    this.findings.push({ file: this.file, line: line + 1, column: character + 1, rule, severity, message, snippet: snippetOf(this.lines, line + 1), source: 'static' });
  }
}

/** Static findings for one TypeScript/JavaScript source: complexity, length, unreachable code, comments, risky patterns. */
export function analyzeTypeScript(file: string, text: string, kind: ts.ScriptKind, thresholds: TsThresholds = defaultThresholds): Finding[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const a = new FileAnalysis(file, sf, thresholds);
  collectImports(a);
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) checkFunction(a, node as FunctionWithBody);
    checkStatements(a, node);
    checkRiskyNode(a, node);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  checkComments(a);
  return a.findings;
}

// ── functions: complexity and length ────────────────────────────────────────

type FunctionWithBody = ts.FunctionLikeDeclaration & { body: ts.ConciseBody };

function functionName(fn: ts.FunctionLikeDeclaration): string {
  if (fn.name && (ts.isIdentifier(fn.name) || ts.isStringLiteral(fn.name) || ts.isPrivateIdentifier(fn.name))) return fn.name.text;
  if (ts.isConstructorDeclaration(fn)) return 'constructor';
  const parent = fn.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '<anonymous>';
}

const branching = new Set([
  ts.SyntaxKind.IfStatement,
  ts.SyntaxKind.ConditionalExpression,
  ts.SyntaxKind.ForStatement,
  ts.SyntaxKind.ForInStatement,
  ts.SyntaxKind.ForOfStatement,
  ts.SyntaxKind.WhileStatement,
  ts.SyntaxKind.DoStatement,
  ts.SyntaxKind.CaseClause,
  ts.SyntaxKind.CatchClause,
]);
const logical = new Set([
  ts.SyntaxKind.AmpersandAmpersandToken,
  ts.SyntaxKind.BarBarToken,
  ts.SyntaxKind.QuestionQuestionToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
]);

/** McCabe's cyclomatic complexity of a function body, not counting nested functions (they are measured on their own). */
export function cyclomaticComplexity(body: ts.Node): number {
  let complexity = 1;
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node)) return;
    if (branching.has(node.kind)) complexity++;
    else if (ts.isBinaryExpression(node) && logical.has(node.operatorToken.kind)) complexity++;
    ts.forEachChild(node, visit);
  };
  // An arrow's expression body counts too; an arrow returning an arrow is measured on its own.
  if (ts.isFunctionLike(body)) return complexity;
  visit(body);
  return complexity;
}

function checkFunction(a: FileAnalysis, fn: FunctionWithBody): void {
  const name = functionName(fn);
  const complexity = cyclomaticComplexity(fn.body);
  if (complexity > a.thresholds.complexity) {
    a.add(fn, 'ts/complexity', 'warning', `Function ${name} has a cyclomatic complexity of ${complexity} (more than ${a.thresholds.complexity}); split it into smaller functions.`);
  }
  const start = a.sf.getLineAndCharacterOfPosition(fn.getStart(a.sf)).line;
  const end = a.sf.getLineAndCharacterOfPosition(fn.getEnd()).line;
  const lines = end - start + 1;
  if (lines > a.thresholds.functionLines) {
    a.add(fn, 'ts/long-function', 'warning', `Function ${name} is ${lines} lines long (more than ${a.thresholds.functionLines}).`);
  }
}

// ── unreachable code ───────────────────────────────────────────────────────

/** Whether control never leaves the statement normally (return, throw, break, continue, or an if/else or block that always does). */
export function alwaysExits(stmt: ts.Statement): boolean {
  if (ts.isReturnStatement(stmt) || ts.isThrowStatement(stmt) || ts.isBreakStatement(stmt) || ts.isContinueStatement(stmt)) return true;
  if (ts.isBlock(stmt)) return stmt.statements.some(alwaysExits);
  if (ts.isIfStatement(stmt)) return stmt.elseStatement !== undefined && alwaysExits(stmt.thenStatement) && alwaysExits(stmt.elseStatement);
  return false;
}

/** Statements that may follow an exit without being dead code: hoisted functions, types, empty statements, `var` without a value. */
function isHarmlessAfterExit(stmt: ts.Statement): boolean {
  if (ts.isFunctionDeclaration(stmt) || ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt) || ts.isEmptyStatement(stmt)) return true;
  if (ts.isModuleDeclaration(stmt) || ts.isEnumDeclaration(stmt)) return stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword) ?? false;
  if (ts.isVariableStatement(stmt)) return (stmt.declarationList.flags & ts.NodeFlags.BlockScoped) === 0 && stmt.declarationList.declarations.every((d) => !d.initializer);
  return false;
}

function statementsOf(node: ts.Node): readonly ts.Statement[] | undefined {
  if (ts.isBlock(node) || ts.isModuleBlock(node) || ts.isCaseClause(node) || ts.isDefaultClause(node)) return node.statements;
  return undefined;
}

function checkStatements(a: FileAnalysis, node: ts.Node): void {
  const statements = statementsOf(node);
  if (!statements) return;
  const exit = statements.findIndex(alwaysExits);
  if (exit < 0) return;
  const dead = statements.slice(exit + 1).find((s) => !isHarmlessAfterExit(s));
  if (dead) a.add(dead, 'ts/unreachable-code', 'warning', `Unreachable code: the statement on line ${a.sf.getLineAndCharacterOfPosition(statements[exit]!.getStart(a.sf)).line + 1} always leaves this block.`);
}

// ── comments ───────────────────────────────────────────────────────────────

const todoWord = /\b(TODO|FIXME|XXX|HACK)\b[:\s(]?(.*)/;

function commentRanges(sf: ts.SourceFile): ts.CommentRange[] {
  const seen = new Map<number, ts.CommentRange>();
  const collect = (ranges: ts.CommentRange[] | undefined) => ranges?.forEach((r) => seen.set(r.pos, r));
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(sf.text, node.pos));
    collect(ts.getTrailingCommentRanges(sf.text, node.end));
    // getChildren includes tokens, so a comment before a closing brace is found too.
    for (const child of node.getChildren(sf)) visit(child);
  };
  visit(sf);
  return [...seen.values()].sort((x, y) => x.pos - y.pos);
}

function checkComments(a: FileAnalysis): void {
  for (const range of commentRanges(a.sf)) {
    const text = a.sf.text.slice(range.pos, range.end);
    let offset = 0;
    for (const line of text.split('\n')) {
      const m = todoWord.exec(line);
      if (m) todoFinding(a, range.pos + offset + m.index, m[1]!, m[2]!);
      offset += line.length + 1;
    }
  }
}

function todoFinding(a: FileAnalysis, pos: number, word: string, rest: string): void {
  const detail = rest.replace(/\*\/\s*$/, '').trim();
  const text = detail ? `${word}: ${detail.slice(0, 160)}` : word;
  if (word === 'TODO') a.add(pos, 'comment/todo', 'note', text);
  else a.add(pos, 'comment/fixme', 'warning', text);
}

// ── risky patterns ─────────────────────────────────────────────────────────

const childProcessModules = new Set(['child_process', 'node:child_process']);
const shellFunctions = new Set(['exec', 'execSync']);

function collectImports(a: FileAnalysis): void {
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const fromChildProcess = childProcessModules.has(node.moduleSpecifier.text);
      const names = a.childProcessNames;
      const clause = node.importClause;
      const bind = (name: string) => (fromChildProcess ? names.add(name) : a.otherImports.add(name));
      if (clause?.name) bind(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) bind(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) bindings.elements.forEach((e) => bind(e.name.text));
    }
    if (ts.isVariableDeclaration(node) && node.initializer && isRequireOf(node.initializer)) {
      if (ts.isIdentifier(node.name)) a.childProcessNames.add(node.name.text);
      else if (ts.isObjectBindingPattern(node.name)) node.name.elements.forEach((e) => ts.isIdentifier(e.name) && a.childProcessNames.add(e.name.text));
    }
    ts.forEachChild(node, visit);
  };
  visit(a.sf);
}

const isRequireOf = (node: ts.Expression): boolean =>
  ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require' && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!) && childProcessModules.has(node.arguments[0].text);

/** Whether a call runs a command through a shell: exec/execSync from child_process (or a bare exec not imported from elsewhere). */
function isShellCall(a: FileAnalysis, callee: ts.Expression): boolean {
  if (ts.isIdentifier(callee)) return shellFunctions.has(callee.text) && (a.childProcessNames.has(callee.text) || !a.otherImports.has(callee.text));
  if (ts.isPropertyAccessExpression(callee) && shellFunctions.has(callee.name.text)) {
    const target = callee.expression;
    return ts.isIdentifier(target) && (a.childProcessNames.has(target.text) || ['child_process', 'childProcess'].includes(target.text));
  }
  return false;
}

/** Stands for a spliced-in value in the static text of a template or concatenation. */
const hole = '\u0000';

/** The static text (each spliced value as a NUL) and whether a non-literal value is spliced in, for a template or a `+` chain. */
export function stringParts(node: ts.Expression): { text: string; interpolated: boolean } | undefined {
  if (ts.isParenthesizedExpression(node)) return stringParts(node.expression);
  if (ts.isTemplateExpression(node)) {
    if (ts.isTaggedTemplateExpression(node.parent)) return undefined; // sql`…` tags parameterise
    return { text: node.head.text + node.templateSpans.map((s) => `${hole}${s.literal.text}`).join(''), interpolated: node.templateSpans.length > 0 };
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = stringParts(node.left) ?? literalOrValue(node.left);
    const right = stringParts(node.right) ?? literalOrValue(node.right);
    if (!left.text && !right.text) return undefined;
    return { text: left.text + right.text, interpolated: left.interpolated || right.interpolated };
  }
  return undefined;
}

const literalOrValue = (node: ts.Expression): { text: string; interpolated: boolean } =>
  ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) ? { text: node.text, interpolated: false } : ts.isNumericLiteral(node) ? { text: node.text, interpolated: false } : { text: hole, interpolated: true };

/** A quote, then the hole with no space or quote between: `name = '${x}'`, `LIKE '%${q}%'`. */
const quotedHole = new RegExp(`'[^'\\s]*${hole}`);
const sqlShape = /^\s*(?:select\s[\s\S]*\sfrom\s|insert\s+into\s|update\s+\S+\s+set\s|delete\s+from\s|drop\s+(?:table|database)\s|alter\s+table\s|truncate\s|create\s+table\s)/i;

function checkRiskyNode(a: FileAnalysis, node: ts.Node): void {
  if (ts.isCallExpression(node)) checkCall(a, node);
  else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Function') {
    a.add(node, 'dangerous/new-function', 'warning', 'new Function() compiles a string into code; avoid it, or make sure no input reaches it.');
  } else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) checkHtmlAssignment(a, node);
  else if ((ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) && node.type.kind === ts.SyntaxKind.AnyKeyword) {
    a.add(node, 'ts/any-cast', 'note', 'Cast to any: type checking is off for this value.');
  }
  if (ts.isTemplateExpression(node) || (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken)) checkSql(a, node);
}

function checkCall(a: FileAnalysis, call: ts.CallExpression): void {
  const callee = call.expression;
  const first = call.arguments[0];
  if (ts.isIdentifier(callee) && callee.text === 'eval') {
    a.add(call, 'dangerous/eval', 'error', 'eval() runs a string as code: anything that reaches it can run arbitrary code.');
    return;
  }
  if (first && isShellCall(a, callee)) {
    const parts = stringParts(first);
    if (parts?.interpolated) {
      a.add(call, 'dangerous/shell-exec-interpolation', 'error', `${callee.getText(a.sf)}() runs a shell command built from interpolated values (command injection): pass the program and its arguments separately (execFile/spawn, or execa).`);
    }
  }
}

function checkHtmlAssignment(a: FileAnalysis, node: ts.BinaryExpression): void {
  const left = node.left;
  if (!ts.isPropertyAccessExpression(left) || !['innerHTML', 'outerHTML'].includes(left.name.text)) return;
  if (ts.isStringLiteral(node.right) || ts.isNoSubstitutionTemplateLiteral(node.right)) return;
  a.add(node, 'dangerous/inner-html', 'warning', `${left.name.text} is assigned a computed value: escape it or use textContent (cross-site scripting).`);
}

const isInsidePlusChain = (node: ts.Node): boolean => ts.isBinaryExpression(node.parent) && node.parent.operatorToken.kind === ts.SyntaxKind.PlusToken;

function checkSql(a: FileAnalysis, node: ts.Expression): void {
  if (isInsidePlusChain(node)) return; // measured once, at the top of the chain
  const parts = stringParts(node);
  if (!parts?.interpolated || !sqlShape.test(parts.text)) return;
  // A value spliced between quotes ('…${name}…') is the classic injection; an interpolated identifier or clause is riskier to judge.
  if (quotedHole.test(parts.text)) a.add(node, 'dangerous/sql-concatenation', 'error', 'SQL with a value spliced into a quoted string literal (SQL injection): pass it as a bind parameter ($1, ?) instead.');
  else a.add(node, 'dangerous/sql-concatenation', 'warning', 'SQL built by concatenation or interpolation: pass values as bind parameters ($1, ?), and identifiers only from a fixed list (SQL injection).');
}
