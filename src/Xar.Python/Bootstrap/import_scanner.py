"""Finds the imports of Python sources for xar's import closure, as a server.

Runs after request_server.py (serve, hash_pyc) on the target interpreter (Python 2.7 or 3), with
its own ast. The greeting is the standard library's top-level module names, space separated; the
answer to a source is one line per import,
"<level>\t<optional 0|1>\t<deferred 0|1>\t<module>\t<names imported from it, comma separated>";
a source that does not parse is refused with the error. Started with --compile (Python 3.7 or
newer), the answer is <u32 length><those lines><the source's unchecked-hash pyc>: compiled from
the tree already parsed, which is the code compile() makes of the source, so the build need not
parse the source a second time; no pyc when the source parses but does not compile.

An import is optional when a handler of an enclosing try catches ImportError (or a base of
it, or everything), or under "if TYPE_CHECKING:"; deferred inside a function (it runs when the function is called). Branches of tests on sys.version_info and
sys.platform that are false for this interpreter are left out. import_module("literal") and
__import__("literal") count as imports; with a name computed at run time, the module is "*".
"""
import ast
import gc
import os

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


def scan(path, source):
    tree = compile(source, path, "exec", ast.PyCF_ONLY_AST, True)
    imports = Imports(b"import_module" in source or b"__import__" in source)
    imports.body(tree.body, 0, 0)
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
