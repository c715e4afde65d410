"""Finds the imports of Python sources for xar's import closure, as a server.

Runs after request_server.py (serve, hash_pyc) on the target interpreter (Python 2.7 or 3), with
its own ast. The greeting is the standard library's top-level module names, space separated; the
answer to a source is one line per import,
"<level>\t<optional 0|1>\t<deferred 0|1>\t<module>\t<names imported from it, comma separated>";
a source that does not parse is refused with the error. Started with --compile (Python 3.7 or
newer), the answer is <u32 length><those lines><the source's unchecked-hash pyc>, the code
compile() makes of the source, so the build need not parse the source a second time; no pyc when
the source parses but does not compile.

An import is optional when a handler of an enclosing try catches ImportError (or a base of
it, or everything), or under "if TYPE_CHECKING:"; deferred inside a function (it runs when the function is called). Branches of tests on sys.version_info and
sys.platform that are false for this interpreter are left out. import_module("literal") and
__import__("literal") count as imports; with a name computed at run time, the module is "*".

With --compile, a source is compiled from its text first (the C parser, no ast objects: half the CPU
of an ast parse plus a compile of the tree) and its imports are read from the bytecode: each
IMPORT_NAME with the level and names loaded before it, deferred in the code of a def. That is
exactly what the ast walk finds when no import (nor a def or class that imports) is under an if, a
try, a with or a loop and the source does not mention import_module or __import__; otherwise the
source is also parsed to an ast, which says what is optional and which version branches are false.
The one difference: code the compiler drops is not scanned (the else of "if __debug__:", statements
after a return).
"""
import ast
import dis
import gc
import os
import types

# The servers parse thousands of files: the cyclic collector would run over every tree's nodes
# again and again (a third of the time). Trees hold no cycles; they go with their last reference.
gc.disable()

CATCHES_IMPORT_ERROR = frozenset(["ImportError", "ModuleNotFoundError", "Exception", "BaseException"])
TRY_NODES = tuple(getattr(ast, name) for name in ("Try", "TryStar", "TryExcept", "TryFinally") if hasattr(ast, name))


def standard_library():
    names = set(sys.builtin_module_names)
    names.update(getattr(sys, "stdlib_module_names", ()))
    import pkgutil
    import sysconfig
    paths = set()
    for key in ("stdlib", "platstdlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            paths.update([path, os.path.join(path, "lib-dynload")])
    for module in pkgutil.iter_modules(sorted(p for p in paths if os.path.isdir(p))):
        names.add(module[1])
    return sorted(n for n in names if n and "-" not in n and n not in ("site-packages", "dist-packages"))


def catches_import_error(handler):
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for node in types:
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name in CATCHES_IMPORT_ERROR:
            return True
    return False


def is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def constant_truth(test):
    """True/False for a test on sys.version_info or sys.platform alone; None for anything else."""
    for node in ast.walk(test):
        if isinstance(node, ast.Name) and node.id != "sys":
            return None
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or (isinstance(node.value, ast.Name) and node.attr not in ("version_info", "platform", "hexversion"))):
            return None
        if isinstance(node, (ast.Call, ast.Lambda)):
            return None
    try:
        return bool(eval(compile(ast.Expression(test), "<test>", "eval"), {"__builtins__": {}, "sys": sys}))
    except Exception:
        return None


def literal_string(node):
    if hasattr(ast, "Constant") and isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    return node.s if isinstance(node, getattr(ast, "Str", ())) else None


FUNCTIONS = tuple(getattr(ast, name) for name in ("FunctionDef", "AsyncFunctionDef") if hasattr(ast, name))


class Imports(object):
    """The imports of one tree, each optional and/or deferred."""

    def __init__(self, with_calls):
        self.found = []
        self.with_calls = with_calls

    def add(self, level, optional, deferred, module, names):
        self.found.append("%d\t%d\t%d\t%s\t%s" % (level, optional, deferred, module, ",".join(names)))

    def body(self, statements, optional, deferred):
        for statement in statements:
            self.statement(statement, optional, deferred)

    def statement(self, node, optional, deferred):
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.add(0, optional, deferred, alias.name, [])
        elif isinstance(node, ast.ImportFrom):
            self.add(node.level or 0, optional, deferred, node.module or "", [a.name for a in node.names if a.name != "*"])
        elif isinstance(node, TRY_NODES):
            handlers = getattr(node, "handlers", [])
            self.body(node.body, optional or any(catches_import_error(h) for h in handlers), deferred)
            for handler in handlers:
                self.body(handler.body, optional, deferred)
            self.body(getattr(node, "orelse", []), optional, deferred)
            self.body(getattr(node, "finalbody", []), optional, deferred)
        elif isinstance(node, ast.If):
            self.calls(node.test, optional, deferred)
            truth = constant_truth(node.test)
            if truth is not False:
                self.body(node.body, optional or is_type_checking(node.test), deferred)
            if truth is not True:
                self.body(node.orelse, optional, deferred)
        else:
            inner = deferred or isinstance(node, FUNCTIONS)
            for name, value in ast.iter_fields(node):
                if name in ("body", "orelse", "finalbody") and isinstance(value, list):
                    self.body(value, optional, inner if name == "body" else deferred)
                elif name in ("handlers", "cases"):
                    for part in value:
                        self.body(part.body, optional, deferred)
                else:
                    self.calls(value, optional, deferred)

    def calls(self, value, optional, deferred):
        """import_module("x") and __import__("x") in an expression; "*" when the name is computed."""
        if not self.with_calls:
            return
        for tree in value if isinstance(value, list) else [value]:
            if not isinstance(tree, ast.AST):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                function = node.func
                name = function.id if isinstance(function, ast.Name) else function.attr if isinstance(function, ast.Attribute) else None
                if name not in ("import_module", "__import__"):
                    continue
                module = literal_string(node.args[0])
                if module is None:
                    self.add(0, optional, deferred, "*", [])
                elif module and not module.startswith("."):
                    self.add(0, optional, deferred, module, [])


# The bytecode scan (--compile, Python 3.7 or newer; see the module's docstring).
BYTECODE_SCAN = sys.version_info >= (3, 7)
CodeType = types.CodeType
OPS = dis.opmap
IMPORT_NAME = OPS["IMPORT_NAME"]
LOAD_CONST = OPS["LOAD_CONST"]
LOAD_SMALL_INT = OPS.get("LOAD_SMALL_INT", -1)  # 3.14 loads an import's level with it
EXTENDED_ARG = OPS["EXTENDED_ARG"]
IMPORT_OPCODE = bytes([IMPORT_NAME])
CO_OPTIMIZED = 0x1  # the code of a def, async def, lambda or comprehension (not of a module or class body)


def cache_entries(op):
    """The inline cache units after an instruction (3.11+), which co_code shows as CACHE instructions."""
    table = getattr(dis, "_inline_cache_entries", None)
    if table is None:
        return 0
    if isinstance(table, dict):  # 3.13+: by name
        return table.get(dis.opname[op], 0) if op < len(dis.opname) else 0
    return table[op] if op < len(table) else 0


def jump_targets():
    """opcode -> (absolute, factor, constant): the target is (0 if absolute else offset) + factor * arg + constant, as dis computes it."""
    unit = 1 if sys.version_info < (3, 10) else 2
    with_caches = sys.version_info >= (3, 12)  # a relative jump counts from after its own cache units
    targets = {}
    for op in dis.hasjrel:
        targets[op] = (False, -unit if "BACKWARD" in dis.opname[op] else unit, 2 + (2 * cache_entries(op) if with_caches else 0))
    for op in dis.hasjabs:
        targets[op] = (True, unit, 0)
    return targets


JUMPS = jump_targets()
CONDITIONAL_JUMPS = frozenset(op for op in JUMPS if "IF" in dis.opname[op])
# Instructions after which execution does not go on to the next one.
ENDS = frozenset(op for name, op in OPS.items()
                 if name in ("RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE") or (name.startswith("JUMP") and op in JUMPS and op not in CONDITIONAL_JUMPS))
INSTRUCTION_LENGTH = dict((op, 2 + 2 * cache_entries(op)) for op in range(256))
exception_table = getattr(dis, "_parse_exception_table", None)


class Unstructured(Exception):
    """An import (or a def or class that imports) under an if, a try, a with or a loop: the ast says whether it is optional."""


def imports_somewhere(code, memo):
    """Whether a code object or one nested in it has an import statement (memo: by id)."""
    found = memo.get(id(code))
    if found is None:
        found = IMPORT_OPCODE in code.co_code[::2]
        for const in code.co_consts:
            if type(const) is CodeType and imports_somewhere(const, memo):
                found = True
        memo[id(code)] = found
    return found


def bytecode_imports(code, imports):
    """Adds the imports of a module's code to imports; raises Unstructured when the ast must tell."""
    memo = {}
    if imports_somewhere(code, memo):
        code_imports(code, imports, 0, memo)


def code_imports(code, imports, deferred, memo):
    """The imports of one code object, then of the code it nests, in order (the order of the ast walk)."""
    if code.co_flags & CO_OPTIMIZED and not code.co_name.startswith("<"):
        deferred = 1  # a def: not a lambda or a comprehension, which the ast walk does not count as deferred
    raw = code.co_code
    consts = code.co_consts
    sites = []  # (offset, opcode, arg, and the two instructions before: opcode, arg, opcode, arg)
    spans = []  # (start, end): an import strictly inside one is under an if, a try, a with or a loop
    after_ends = set()
    conditional_targets = []
    extended = 0
    op2 = arg2 = op1 = arg1 = -1
    offset = 0
    length = len(raw)
    while offset < length:
        op = raw[offset]
        arg = raw[offset + 1] | extended
        if op == EXTENDED_ARG:
            extended = arg << 8
            offset += 2
            continue
        extended = 0
        if op == IMPORT_NAME:
            sites.append((offset, op, arg, op2, arg2, op1, arg1))
        elif op == LOAD_CONST and type(consts[arg]) is CodeType and memo[id(consts[arg])]:
            sites.append((offset, op, arg, 0, 0, 0, 0))
        elif op in JUMPS:
            absolute, factor, constant = JUMPS[op]
            target = (0 if absolute else offset) + factor * arg + constant
            if target > offset:  # over an if's body, a loop's, an except handler
                spans.append((offset, target))
                if op in CONDITIONAL_JUMPS:
                    conditional_targets.append(target)
        if op in ENDS:
            after_ends.add(offset + INSTRUCTION_LENGTH[op])
        op2, arg2, op1, arg1 = op1, arg1, op, arg
        offset += INSTRUCTION_LENGTH[op]
    if not sites:
        return
    # "if test: return/raise/break/continue" then more code: no jump spans the else, which may go on to the end.
    for target in conditional_targets:
        if target in after_ends:
            spans.append((target - 1, length))
    if getattr(code, "co_exceptiontable", b""):  # 3.11+: the bodies of try and with
        if exception_table is None:
            raise Unstructured()
        for entry in exception_table(code):
            spans.append((entry.start - 1, entry.end))
    names = code.co_names
    for offset, op, arg, level_op, level, fromlist_op, fromlist in sites:
        for start, end in spans:
            if start < offset < end:
                raise Unstructured()
        if op == IMPORT_NAME:
            if level_op not in (LOAD_CONST, LOAD_SMALL_INT) or fromlist_op != LOAD_CONST:
                raise Unstructured()
            level = consts[level] if level_op == LOAD_CONST else level
            imports.add(level, 0, deferred, names[arg], [n for n in (consts[fromlist] or ()) if n != "*"])
        else:
            code_imports(consts[arg], imports, deferred, memo)


def ast_imports(path, source, with_calls):
    tree = compile(source, path, "exec", ast.PyCF_ONLY_AST, True)
    imports = Imports(with_calls)
    imports.body(tree.body, 0, 0)
    return imports, tree


def scan(path, source):
    with_calls = b"import_module" in source or b"__import__" in source
    if COMPILE and BYTECODE_SCAN and not with_calls:
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except Exception:  # does not parse, or parses but does not compile: the ast path says which
            code = None
        if code is not None:
            try:
                imports = Imports(False)
                bytecode_imports(code, imports)
            except Unstructured:
                imports = ast_imports(path, source, False)[0]
            found = "\n".join(imports.found).encode("utf-8")
            return struct.pack("<I", len(found)) + found + hash_pyc(code, source)
    imports, tree = ast_imports(path, source, with_calls)
    found = "\n".join(imports.found).encode("utf-8")
    if not COMPILE:
        return found
    try:
        code = compile(tree, path, "exec", dont_inherit=True)
        # marshal flags the objects referenced more than once: with the tree's references to names
        # and constants gone, the pyc is the compile server's (byte for byte from 3.11 on).
        del tree
        pyc = hash_pyc(code, source)
    except Exception:  # parses but does not compile (return outside a function...): the compile server says why
        pyc = b""
    return struct.pack("<I", len(found)) + found + pyc


COMPILE = sys.argv[1:] == ["--compile"]
serve(" ".join(standard_library()), scan)
