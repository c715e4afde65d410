"""Starts the application of a xar Python archive (see docs/python-apps.md).

The launcher runs the target interpreter as
    python -I -S -c "import sys;sys.path[:0]=[<mount>/__xar__];import xar_bootstrap" ARGS...
with XAR_MOUNT, XAR_INVOKED_NAME (and XAR_ENTRY, when the user picks an entry) in the
environment. This module must stay compatible with every Python the builder supports, and
ASCII (Python 2 reads sources as ASCII).
"""
import os
import sys

BUNDLE_MAGIC = b"XARPYC\x00\x03"
# The values of the bundle's index that are not a module's code (offset << 32 | length); BytecodeBundle.cs has the same.
IMPORTABLE_FILE = -1
LISTED_DIRECTORY = -2
UNLISTED_DIRECTORY = -3
ABSENT = -4


def _install_bundle(root):
    """Serves imports from the directories the bundle indexes (lib/python, and a standalone
    archive's standard library) out of __xar__/bytecode.bundle (docs/python-apps.md, section 5).

    Each file a FileFinder opens on a FUSE mount costs the daemon an open, a read, an ioctl
    (CPython's isatty) and a release, and each directory a listing, every start. The bundle's
    index answers the lookups and one open file gives the code, so a start from a mount costs
    a few requests instead of thousands. Anything the index does not cover falls through to
    the interpreter's own finders.

    Returns the index's entries (None without a bundle). They are one dict of str and int, and
    each finder allocates one object: the cyclic collector counts the containers a start
    allocates, and a start that allocates more than the same application's in a venv can meet
    a full collection (tens of milliseconds) that the venv's start does not.
    """
    bundle = root + "/__xar__/bytecode.bundle"
    try:
        fd = os.open(bundle, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # built with --bytecode none
    import _imp
    import marshal
    import _frozen_importlib as bootstrap
    import _frozen_importlib_external as external

    head = os.pread(fd, 16, 0)
    if head[:8] != BUNDLE_MAGIC or head[8:12] != external.MAGIC_NUMBER:
        os.close(fd)  # compiled for another interpreter: the normal finders compile what they need
        return None
    index_length = int.from_bytes(head[12:16], "little")
    entries, native = marshal.loads(_read(fd, 16, index_length))
    code_start = 16 + index_length
    prefix = len(root) + 1
    real_root = []  # resolved at the first module the index does not name, not at every start
    # A mount this launch made has nothing in the page cache (see the read-ahead below): the code
    # this start loads, in the order it loads it, is what the next fresh mount reads ahead.
    fresh = os.environ.get("XARFUSE_NEW_MOUNT") == "1" and os.environ.get("XAR_RUN_MODE") != "extract"
    loaded = [] if fresh else None

    def bundled_code(path):
        key = path[prefix:]
        entry = entries.get(key, ABSENT)
        if entry < 0:
            # A module that is a symlink, or in a symlinked directory: its code is in the bundle under
            # the path of the file itself, if that is in the image.
            if not real_root:
                real_root.append(os.path.realpath(root) + "/")
            real = os.path.realpath(path)
            if real != path and real.startswith(real_root[0]):
                key = real[len(real_root[0]) :]
                entry = entries.get(key, ABSENT)
        if entry < 0:
            return None
        if loaded is not None:
            loaded.append(entry)
        bootstrap._verbose_message("code object from {!r}", bundle + ":" + key)  # for python -v
        return marshal.loads(_read(fd, code_start + (entry >> 32), entry & 0xFFFFFFFF))

    cache = []  # [directory or None]: the private pyc cache, found at the first module the bundle does not hold

    def cached_code(loader, fullname):
        """A module the bundle does not hold (the build compiles what the application's imports
        reach; docs/python-apps.md, section 1): compiled from its source once, then loaded from
        <private cache of this image>/pycache/<its image path>.<tag>.pyc, as PYTHONPYCACHEPREFIX
        would keep it, but for the image's modules only (a global sys.pycache_prefix would also
        move the host standard library's pycs and compile each of them again). The image never
        changes under its hash, so the pyc is not checked against the source. Without a private
        directory (no image hash, no trusted cache root), compiled at every start as CPython does
        for a read-only __pycache__."""
        if not cache:
            cache.append(_pyc_cache(external.MAGIC_NUMBER))
        if cache[0] is None:
            return external.SourceFileLoader.get_code(loader, fullname)
        key = loader.path[prefix:]
        head, _, name = key.rpartition("/")
        pyc = "%s/%s/%s.%s.pyc" % (cache[0], head, name.rpartition(".")[0], sys.implementation.cache_tag)
        try:
            fd = os.open(pyc, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            fd = None
        if fd is not None:
            try:
                data = _read(fd, 0, os.fstat(fd).st_size)
            except (OSError, ImportError):
                data = b""
            finally:
                os.close(fd)
            if data[:4] == external.MAGIC_NUMBER and data[4:8] == PYC_UNCHECKED_HASH:
                bootstrap._verbose_message("code object from {!r}", pyc)
                code = marshal.loads(data[16:])
                _imp._fix_co_filename(code, loader.path)
                return code
        source = loader.get_data(loader.path)
        code = loader.source_to_code(source, loader.path)
        _write_private(cache[0], pyc, external.MAGIC_NUMBER + PYC_UNCHECKED_HASH + _imp.source_hash(external._RAW_MAGIC_NUMBER, source) + marshal.dumps(code))
        bootstrap._verbose_message("created {!r}", pyc)
        return code

    class BundledSourceLoader(external.SourceFileLoader):
        def get_code(self, fullname):
            code = bundled_code(self.path)
            if code is None:  # not compiled at build (or did not compile: CPython reports it)
                return cached_code(self, fullname)
            _imp._fix_co_filename(code, self.path)  # as CPython does for a pyc beside its source
            return code

    class BundledSourcelessLoader(external.SourcelessFileLoader):
        def get_code(self, fullname):
            code = bundled_code(self.path)
            return external.SourcelessFileLoader.get_code(self, fullname) if code is None else code

    loaders = [
        (external.ExtensionFileLoader, external.EXTENSION_SUFFIXES),
        (BundledSourceLoader, external.SOURCE_SUFFIXES),
        (BundledSourcelessLoader, external.BYTECODE_SUFFIXES),
    ]
    suffixes = external.FileFinder(root, *loaders)._loaders  # FileFinder's (suffix, loader) pairs, in its order
    nothing = frozenset()

    class BundleFinder(external.FileFinder):
        """FileFinder's search over the bundle's index: no stat, no readdir.

        A FileFinder subclass, so that pkgutil.iter_modules and pkg_resources treat it as one."""

        def __init__(self, path, key):
            # FileFinder's attributes, without the list of loaders and the two sets its __init__
            # makes for each directory: every finder shares them (its caches stay empty).
            self.path = path
            self._loaders = suffixes
            self._path_mtime = -1
            self._path_cache = self._relaxed_path_cache = nothing
            self._key = key + "/"

        def _fill_cache(self):
            pass  # the index lists the directory

        def find_spec(self, fullname, target=None):
            tail = fullname.rpartition(".")[2]
            base = self._key + tail
            kind = entries.get(base, ABSENT)
            if kind == UNLISTED_DIRECTORY:  # the index cannot tell whether it is a package: ask the file system
                return external.FileFinder(self.path, *loaders).find_spec(fullname, target)
            if kind == LISTED_DIRECTORY:
                for suffix, loader in self._loaders:
                    if entries.get(base + "/__init__" + suffix, ABSENT) >= IMPORTABLE_FILE:
                        package = self.path + "/" + tail
                        return self._get_spec(loader, fullname, package + "/__init__" + suffix, [package], target)
            for suffix, loader in self._loaders:
                if entries.get(base + suffix, ABSENT) >= IMPORTABLE_FILE:
                    return self._get_spec(loader, fullname, self.path + "/" + tail + suffix, None, target)
            if kind == LISTED_DIRECTORY:
                spec = bootstrap.ModuleSpec(fullname, None)
                spec.submodule_search_locations = [self.path + "/" + tail]  # a namespace package portion
                return spec
            return None

    def served(key):
        """Whether key is a directory the index names (listed or not) or below one."""
        while entries.get(key, ABSENT) not in (LISTED_DIRECTORY, UNLISTED_DIRECTORY):
            if "/" not in key:
                return False
            key = key.rpartition("/")[0]
        return True

    def hook(path):
        key = path[prefix:]
        if not path.startswith(root + "/"):
            raise ImportError("not in the bundle")
        if entries.get(key) == LISTED_DIRECTORY:
            return BundleFinder(path, key)
        if served(key):
            # A directory the index does not list (a symlink or a special file in it, a name that is
            # not UTF-8, a symlinked directory): the file system lists it, but its modules' code is
            # still in the bundle, so they are not compiled at every start.
            return external.FileFinder(path, *loaders)
        raise ImportError("not in the bundle")

    # A mount this launch made has nothing in the page cache: every first read waits for the
    # daemon to decompress. Read ahead on another core what the start needs: the code and native
    # files an earlier start of this image loaded (its record, section 5), else the application's
    # whole code and native files. Not a standalone archive's interpreter (its standard library's
    # code and extension modules): a start imports a small part of it, and reading all of it (20 MB
    # for a hello) only competes with the start for the cores and the daemon.
    if fresh:
        spans = [entry for path, entry in entries.items() if entry >= 0 and not path.startswith(INTERPRETER_HOME)]
        start = code_start + min([entry >> 32 for entry in spans] or [0])
        end = code_start + max([(entry >> 32) + (entry & 0xFFFFFFFF) for entry in spans] or [0])
        paths = [(root + "/" + path, size) for path, size in native.items() if not path.startswith(INTERPRETER_HOME)]
        if end - start + sum(size for _, size in paths) >= READ_AHEAD_MINIMUM:
            _start_read_ahead(fd, code_start, [(start - code_start) << 32 | (end - start)], root, native, paths)
            import atexit

            listed = {}
            if hasattr(sys, "addaudithook"):  # Python 3.8+
                sys.addaudithook(_listing_recorder(root + "/", listed))
            atexit.register(_record_start, root, native, loaded, listed)

    sys.path_hooks.insert(0, hook)
    # The standard library's finders were made before the hook (the interpreter's start imported from it).
    for path in [p for p in sys.path_importer_cache if p.startswith(root + "/") and served(p[prefix:])]:
        del sys.path_importer_cache[path]
    return entries


READ_AHEAD_BUDGET = 64 << 20
# At most this many directories listed ahead (the record's and subdirectories): awscli's start needs ~860.
READ_AHEAD_LISTINGS = 4096
# A standalone archive's interpreter (StandaloneInterpreter.Home), left out of the read-ahead.
INTERPRETER_HOME = "__xar__/python/"
# Below this, starting the reader (two forks, ~1 ms) costs more than the reads it would overlap.
READ_AHEAD_MINIMUM = 1 << 20


def _start_read_ahead(bundle_fd, code_start, spans, root, native, paths):
    """Reads ahead, in a detached process, what a start needs, so that the FUSE daemon decompresses
    it on another core while the application starts and its own reads find the pages cached:
    what the record of earlier starts names (_record_start), else the bundle's spans (offset after
    code_start << 32 | length) and then paths (up to READ_AHEAD_BUDGET bytes in all).

    A process rather than a thread: the application's process stays single-threaded (forking a
    threaded process is unsafe, and CPython 3.12+ warns about it). It is a grandchild, so it is
    never the application's child to reap; it holds /dev/null as stdin, stdout and stderr and no
    other descriptor of the application's, so nobody waiting for the application's output waits
    for it; it reads each file only as far as the size the index gives, then exits."""
    if len(os.sched_getaffinity(0)) < 2:
        return  # one core: it would only compete with the application
    application = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        os.waitpid(pid, 0)  # the intermediate process exits at once
        return
    try:
        if os.fork() == 0:
            _read_ahead(bundle_fd, code_start, spans, root, native, paths, application)
    finally:
        os._exit(0)


def _read_ahead(bundle_fd, code_start, spans, root, native, paths, application):
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in (0, 1, 2, bundle_fd):
            try:
                os.close(int(name))
            except OSError:
                pass  # the descriptor listdir itself used
    cache = _image_cache_directory()
    recorded = _recorded_start(None if cache is None else cache + "/" + START_RECORD)
    missed = {} if cache is None else _missed_names(cache + "/" + MISSED_NAMES)
    directories = []
    if recorded is not None:
        spans = recorded[0]
        paths = [(root + "/" + path, native[path]) for path in recorded[1] if path in native]
        directories = recorded[2]
    buffer = bytearray(1 << 20)
    budget = READ_AHEAD_BUDGET
    for span in spans:
        length = min(span & 0xFFFFFFFF, budget)
        budget -= length
        _read_range(bundle_fd, code_start + (span >> 32), code_start + (span >> 32) + length, buffer)
    for path, size in paths:
        if size > budget:
            continue
        budget -= size
        fd = os.open(path, os.O_RDONLY)
        _read_range(fd, 0, size, buffer)
        os.close(fd)
    # The directories earlier starts listed: each listing is a READDIRPLUS round trip to the daemon,
    # and its entries' attributes come with it, so the start's own listings and stats of those
    # names are answered by the kernel's caches (the same answers, only earlier, and on this core
    # instead of the application's). Also the subdirectories of a listed directory whose parent was
    # listed too: the application walks that tree and stats names in the subdirectories it does not
    # list (botocore's version directories); not those of a directory listed alone (the bootstrap's
    # own listing of lib/python, whose subdirectories are every package).
    # Then the names earlier mounts were asked for and do not have, each in the directory's turn:
    # no listing tells the kernel that a name is absent, but a lookup here makes it cache the miss
    # (the daemon's negative entry), so the application's own lookup is answered without a round trip.
    walked = set(directories)
    listed = set()

    def listing(path):
        # Nothing more once the application has exited: an open directory here would keep the
        # mount busy (an unmount right after the application refused).
        if path in listed or len(listed) >= READ_AHEAD_LISTINGS or not _running(application):
            return []
        listed.add(path)
        try:
            with os.scandir(path) as entries:
                found = list(entries)
        except OSError:
            found = []  # not a directory (any longer): nothing to list
        look_up(path[len(root) + 1:])
        return found

    def look_up(directory):
        for name in missed.pop(directory, ()):
            try:
                os.lstat(root + "/" + name)
            except OSError:
                pass  # what is expected: the name is not there

    for directory in directories:
        for entry in listing(root + "/" + directory):
            if directory.rpartition("/")[0] in walked and entry.is_dir(follow_symlinks=False):
                listing(entry.path)
    for directory in list(missed):
        look_up(directory)


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # EPERM: it runs (as another user, after a setuid)
    return True


def _read_range(fd, start, end, buffer):
    offset = start
    while offset < end:
        count = os.preadv(fd, [memoryview(buffer)[:end - offset]], offset)
        if count <= 0:
            return
        offset += count


# The record of what starts on a fresh mount loaded, in the image's private cache directory.
START_RECORD = "read-ahead"


def _start_record():
    """The path of this image's start record, None without a private cache directory."""
    directory = _image_cache_directory()
    return None if directory is None else directory + "/" + START_RECORD


def _recorded_start(record):
    """(bundle spans, native paths, listed directories) of the record, in the order starts loaded or
    listed them; None when there is none or it is not one (the reader checks every path against the
    index, a span past the bundle's end only reads nothing, and a directory that is not one lists nothing)."""
    if record is None:
        return None
    import marshal

    try:
        fd = os.open(record, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        recorded = marshal.loads(_read(fd, 0, os.fstat(fd).st_size))
    except (OSError, ImportError, ValueError, EOFError, TypeError):
        return None
    finally:
        os.close(fd)
    if (type(recorded) is not tuple or len(recorded) != 3 or any(type(part) is not list for part in recorded)
            or any(type(span) is not int or span < 0 for span in recorded[0])
            or any(type(path) is not str or path.startswith("/") or ".." in path.split("/") for path in recorded[1] + recorded[2])):
        return None
    return recorded


# The names mounts of this image were asked for and did not have, kept by our FUSE daemon when it
# ends (src/Xar.Runtime/MissedNameRecord.cs): a first line, then one path relative to the mount a line.
MISSED_NAMES = "missing-names"
MISSED_NAMES_MAGIC = "xar missing names 1"
# The daemon keeps at most this many (FuseServerOptions.MissedNameLimit), in at most this many bytes.
MISSED_NAMES_LIMIT = 4096
MISSED_NAMES_BYTES = 1 << 20


def _missed_names(record):
    """{directory: [paths]} of the daemon's record of missed names, by the directory (relative to the
    mount) each is in; {} when there is none or it is damaged: not UTF-8, not the daemon's first line
    or last line break, more than MISSED_NAMES_LIMIT names, or one that is absolute or has an empty,
    "." or ".." component (the daemon writes none of these: nothing of such a record is looked up)."""
    try:
        fd = os.open(record, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return {}
    try:
        size = os.fstat(fd).st_size
        if size > MISSED_NAMES_BYTES:
            return {}
        lines = _read(fd, 0, size).decode("utf-8").split("\n")
    except (OSError, ImportError, ValueError):
        return {}
    finally:
        os.close(fd)
    if lines[0] != MISSED_NAMES_MAGIC or lines[-1] != "" or len(lines) - 2 > MISSED_NAMES_LIMIT:
        return {}
    missed = {}
    for path in lines[1:-1]:
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts):
            return {}
        missed.setdefault("/".join(parts[:-1]), []).append(path)
    return missed


def _listing_recorder(prefix, listed):
    """An audit hook that adds the directories under prefix the application lists (os.listdir,
    os.scandir: botocore lists its ~430 service directories at every start) to the dict listed, as
    paths relative to prefix, in that order; at most READ_AHEAD_LISTINGS of them, however long the
    application runs and whatever it lists."""

    def audit(event, args):
        if event == "os.listdir" or event == "os.scandir":
            path = args[0]
            if (type(path) is str and path.startswith(prefix) and len(listed) < READ_AHEAD_LISTINGS
                    and ".." not in path.split("/")):
                listed[path[len(prefix):]] = None

    return audit


def _record_start(root, native, loaded, listed):
    """At the exit of a start on a fresh mount: adds the bundle spans it loaded, the image's shared
    libraries it mapped and the directories it listed (each in that order) to the image's start
    record, which the next fresh mount's read-ahead reads (and lists) instead of the whole
    application (for awscli --version 5 of 22 MB). Written only when it grows; nothing on error
    (the next fresh mount reads the whole application)."""
    real = os.path.realpath(root) + "/"
    mapped = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(None, 5)
                path = fields[5].rstrip("\n") if len(fields) == 6 else ""
                if path.startswith(real) and path[len(real):] in native and path[len(real):] not in mapped:
                    mapped.append(path[len(real):])
    except OSError:
        pass
    record = _start_record()
    if record is None:
        return
    spans, paths, directories = _recorded_start(record) or ([], [], [])
    count = len(spans) + len(paths) + len(directories)
    for known, new in ((spans, loaded), (paths, mapped), (directories, listed)):
        seen = set(known)
        for item in new:
            if item not in seen:
                seen.add(item)
                known.append(item)
    if len(spans) + len(paths) + len(directories) > count:
        import marshal

        _write_private(record.rpartition("/")[0], record, marshal.dumps((spans, paths, directories)))


# Libraries that write caches beside their code or under HOME, and the variable that moves them
# (docs/python-apps.md, section 8). numba's cache=True writes beside the module, which is read-only
# in an image; matplotlib's config and font cache go under HOME, which may not be writable.
WRITABLE_CACHES = (("numba", "NUMBA_CACHE_DIR"), ("matplotlib", "MPLCONFIGDIR"))
PRIVATE_MODE = 0o700
STICKY = 0o1000
WRITABLE_BY_OTHERS = 0o022


def _has_package(library, entries, package):
    """Whether lib/python has a directory named package: from the bundle's index (entries), else the file system."""
    if entries is None:
        return os.path.isdir(library + "/" + package)
    return entries.get("lib/python/" + package, ABSENT) in (LISTED_DIRECTORY, UNLISTED_DIRECTORY)


def _offer_writable_caches(library, entries):
    """Points each library of WRITABLE_CACHES that the image holds, and whose variable the user
    has not set, at a directory of its own in a per-image cache directory of the user's.
    matplotlib is moved only when its default directories cannot be written (it then warns and
    uses a temporary directory natively): a user's matplotlibrc stays in force otherwise."""
    wanted = []
    for package, variable in WRITABLE_CACHES:
        if os.environ.get(variable) or not _has_package(library, entries, package):
            continue
        if package == "matplotlib" and _matplotlib_defaults_writable():
            continue
        wanted.append((package, variable))
    if not wanted:
        return
    image = os.environ.get("XAR_IMAGE_SHA256", "")
    if len(image) != 64 or image.strip("0123456789abcdef"):
        return  # an archive without an image hash (the original builder's): nothing to key on
    directory = _private_cache_directory(image)
    if directory is None:
        return  # nowhere private to write: the libraries do as they do natively
    for package, variable in wanted:
        os.environ[variable] = directory + "/" + package


def _offer_matplotlibrc(library, entries):
    """Debian's matplotlib looks for its default matplotlibrc in /etc/matplotlibrc, not in its
    mpl-data (which the build brought back into the package), so on a host without Debian's
    python3-matplotlib `import matplotlib` fails ("Could not find matplotlibrc file"). There, and
    only when no matplotlibrc of the user's would be read first, MATPLOTLIBRC names the image's."""
    if os.environ.get("MATPLOTLIBRC") or not _has_package(library, entries, "matplotlib"):
        return
    default = library + "/matplotlib/mpl-data/matplotlibrc"
    if os.path.exists("/etc/matplotlibrc") or not os.path.isfile(default):
        return
    home = os.environ.get("HOME") or "/nonexistent"
    users = [(os.environ.get("XDG_CONFIG_HOME") or home + "/.config") + "/matplotlib/matplotlibrc"]
    if os.environ.get("MPLCONFIGDIR"):
        users.append(os.environ["MPLCONFIGDIR"] + "/matplotlibrc")
    if not any(os.path.exists(path) for path in users):
        os.environ["MATPLOTLIBRC"] = default


def _matplotlib_defaults_writable():
    """Whether matplotlib could create or write its config and cache directories (as its
    _get_config_or_cache_dir would): each directory, or its nearest existing ancestor, writable."""
    home = os.environ.get("HOME") or "/nonexistent"
    for variable, default in (("XDG_CONFIG_HOME", home + "/.config"), ("XDG_CACHE_HOME", home + "/.cache")):
        path = (os.environ.get(variable) or default) + "/matplotlib"
        while not os.path.exists(path):
            parent = os.path.dirname(path)
            if parent == path:
                return False
            path = parent
        if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
            return False
    return True


# The flags of a PEP 552 pyc that carries its source's hash and is not checked against it.
PYC_UNCHECKED_HASH = b"\x01\x00\x00\x00"


def _pyc_cache(magic):
    """<private cache of this image>/pycache (docs/python-apps.md, section 5), created 0700 as the
    per-image directory is; None when the archive has no image hash or no trusted place exists."""
    directory = _image_cache_directory()
    return None if directory is None else _private_subdirectory(directory + "/pycache", os.geteuid())


def _image_cache_directory():
    """The private cache directory of this image (_private_cache_directory); None when the archive has no image hash."""
    image = os.environ.get("XAR_IMAGE_SHA256", "")
    if len(image) != 64 or image.strip("0123456789abcdef"):
        return None
    return _private_cache_directory(image)


def _write_private(cache, path, data):
    """Writes path below the private directory cache: the directories it needs 0700, the file
    under a random name (O_EXCL|O_NOFOLLOW, 0600), then renamed into place, so that a reader
    never sees half a pyc and two processes writing the same one both succeed. Nothing on error:
    the module is compiled again next time."""
    directory = path.rpartition("/")[0]
    if not os.path.isdir(directory):
        made = cache
        for name in directory[len(cache) + 1 :].split("/"):
            made += "/" + name
            try:
                os.mkdir(made, PRIVATE_MODE)  # os.makedirs gives the parents the umask's mode
            except OSError:
                if not os.path.isdir(made):
                    return
    temporary = "%s/.%s.tmp" % (directory, os.urandom(8).hex())
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.rename(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _private_cache_directory(image):
    """<cache root>/.app-caches/<image sha256>, created 0700, in the first cache root the
    launcher would extract to that is trusted (docs/launcher.md, section 2.2): the user's own,
    in directories nobody else can write; /var/tmp/xar-uid-N and /tmp/xar-uid-N only when they
    are the user's with mode 0700. Never under a directory another user controls (root run with
    sudo -E has that user's HOME). None when no root is usable."""
    uid = os.geteuid()
    roots = []
    for variable, below in (("XDG_CACHE_HOME", "/xar"), ("HOME", "/.cache/xar"), ("XDG_RUNTIME_DIR", "/xar")):
        value = os.environ.get(variable, "")
        if value.startswith("/"):
            roots.append((value.rstrip("/") + below, False))
    roots.append(("/var/tmp/xar-uid-%d" % uid, True))
    roots.append(("/tmp/xar-uid-%d" % uid, True))
    for root, shared in roots:
        directory = _trusted_directory(root, shared, uid)
        if directory is None:
            continue
        for name in (".app-caches", image):
            directory = _private_subdirectory(directory + "/" + name, uid)
            if directory is None:
                break
        else:
            return directory
    return None


def _trusted_directory(root, shared, uid):
    """ExtractionCache.TrustedRoot's rules: root, created 0700 where missing, canonical, the
    user's own (exactly 0700 when shared), with every ancestor the user's or root's and writable
    by others only when sticky (/tmp)."""
    missing = []
    path = root
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    if not _trusted_ancestry(os.path.realpath(path), uid):
        return None
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_MODE)
        except OSError:
            if not os.path.isdir(path):
                return None
    canonical = os.path.realpath(root)
    try:
        status = os.lstat(canonical)
    except OSError:
        return None
    import stat

    if not stat.S_ISDIR(status.st_mode) or status.st_uid != uid:
        return None
    mode = stat.S_IMODE(status.st_mode)
    if (mode != PRIVATE_MODE) if shared else (mode & WRITABLE_BY_OTHERS):
        return None
    if not _trusted_ancestry(os.path.dirname(canonical), uid) or not os.access(canonical, os.W_OK | os.X_OK):
        return None
    return canonical


def _trusted_ancestry(canonical, uid):
    path = canonical
    while True:
        try:
            status = os.lstat(path)
        except OSError:
            return False
        if status.st_uid not in (0, uid) or (status.st_mode & WRITABLE_BY_OTHERS and not status.st_mode & STICKY):
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def _private_subdirectory(path, uid):
    """path, created 0700 inside a trusted directory; None unless it is then a directory of the
    user's that nobody else can write (not a symlink: lstat)."""
    try:
        os.mkdir(path, PRIVATE_MODE)
    except OSError:
        pass  # there already, or not creatable: lstat says which
    try:
        status = os.lstat(path)
    except OSError:
        return None
    import stat

    if not stat.S_ISDIR(status.st_mode) or status.st_uid != uid or status.st_mode & WRITABLE_BY_OTHERS:
        return None
    return path


def _read(fd, offset, length):
    data = os.pread(fd, length, offset)
    while len(data) < length:  # a short read is allowed, if unusual
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            raise ImportError("xar: __xar__/bytecode.bundle is truncated")
        data += more
    return data


def _running_abi(name, version):
    """The running interpreter's ABI tag, as the builder's CompatibilityTags names the target's
    (packaging.tags): from sys attributes, without importing sysconfig (which costs milliseconds)."""
    if name == "cpython":
        if version[0] >= 3:
            return "cp%d%d%s" % (version[0], version[1], sys.abiflags)
        # Python 2 has no sys.abiflags: debug, pymalloc (assumed, as in every usual build), UCS-4.
        debug = "d" if hasattr(sys, "gettotalrefcount") else ""
        return "cp%d%d%sm%s" % (version[0], version[1], debug, "u" if sys.maxunicode > 0xFFFF else "")
    import _imp  # packaging.tags._generic_abi: ".pypy310-pp73-x86_64-linux-gnu.so" gives "pypy310_pp73"
    fields = _imp.extension_suffixes()[0].split(".")[1].split("-")
    count = 2 if fields[0].startswith("pypy") else 3 if fields[0].startswith("graalpy") else len(fields)
    return "_".join(fields[:count]).replace(".", "_")


def _check_interpreter(needed):
    """Exits with one line, before anything of the application runs, when this interpreter is
    not the one the archive was built for (docs/python-apps.md, section 3): the launcher picks it by its
    name, which may not say its version (a recorded /usr/bin/python3 that is now 3.12)."""
    implementation = getattr(sys, "implementation", None)
    name = implementation.name if implementation else sys.subversion[0].lower()
    version = tuple(sys.version_info[:2])
    abi = _running_abi(name, version)
    if (name, version, abi) == (needed[0], tuple(needed[1:3]), needed[3]):
        return
    sys.stderr.write("xarexec: %s: needs %s-%d.%d (%s), started %s which is %s-%d.%d (%s)\n" % (
        os.environ.get("XAR_PATH") or os.environ.get("XAR_INVOKED_NAME"), needed[0], needed[1], needed[2], needed[3],
        sys.executable, name, version[0], version[1], abi))
    sys.exit(127)  # the launcher's TargetNotFound: no interpreter for the archive


def _restore_library_path(root, library_path):
    """Gives the application the host's LD_LIBRARY_PATH back (docs/python-apps.md, section 7).

    The launcher put the image's library directory in front of it for this process; the dynamic
    loader read it once, at exec, so the process itself still finds the image's libraries, also
    for dlopen. Host programs the application starts must not load the image's copies (they may
    be older than the host's, AppImage's known problem), so its environment gets the host's value.
    A child that starts this interpreter again needs them: sys.executable becomes a wrapper that
    puts them in front again."""
    if not library_path:
        return
    host = os.environ.pop("XAR_HOST_LD_LIBRARY_PATH", None)
    if host is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = host
    os.environ["XAR_PYTHON_EXECUTABLE"] = sys.executable
    sys.executable = root + "/__xar__/bin/python"


def _main():
    root = os.environ["XAR_MOUNT"]
    import xar_app

    _check_interpreter(xar_app.PYTHON)
    _restore_library_path(root, getattr(xar_app, "LIBRARY_PATH", None))

    del sys.path[0]  # the __xar__ directory: nothing else there is for the application
    import site  # with -S this only defines addsitedir; it adds nothing of the host's

    library = os.path.abspath(root + "/lib/python")  # as addsitedir spells it
    entries = _install_bundle(os.path.abspath(root))
    _offer_writable_caches(library, entries)
    _offer_matplotlibrc(library, entries)
    # The archive's packages go after the standard library and before any host site-packages
    # (present only in archives built with --inherit-site), so the archive's versions win.
    before = list(sys.path)
    site.addsitedir(library)
    added = [p for p in sys.path if p not in before]
    hosts = [i for i, p in enumerate(before) if p.endswith(("site-packages", "dist-packages"))]
    if added and hosts:
        rest = [p for p in sys.path if p not in added]
        sys.path[:] = rest[: hosts[0]] + added + rest[hosts[0] :]

    invoked = os.environ.get("XAR_INVOKED_NAME") or sys.argv[0]
    name = os.environ.get("XAR_ENTRY") or os.path.basename(invoked)
    if name not in xar_app.SCRIPTS:
        if os.environ.get("XAR_ENTRY"):
            sys.stderr.write("%s: XAR_ENTRY=%s is not one of: %s\n" % (invoked, name, ", ".join(sorted(xar_app.SCRIPTS))))
            sys.exit(2)
        name = xar_app.DEFAULT
    target, kind = xar_app.SCRIPTS[name]
    sys.argv = [invoked] + sys.argv[1:]

    if kind == "entry":
        module, _, attributes = target.partition(":")
        obj = __import__(module, fromlist=["__name__"])
        for attribute in attributes.split("."):
            obj = getattr(obj, attribute)
        sys.exit(obj())
    import runpy

    if kind == "module":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(root + "/" + target, run_name="__main__")


_main()
