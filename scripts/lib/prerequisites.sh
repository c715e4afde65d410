# Debian packages the build, the tests and the benchmarks rely on; installed only when missing.
XAR_TEST_PACKAGES=(
  squashfs-tools   # mksquashfs / unsquashfs: oracles and the benchmark baseline
  squashfuse       # squashfuse_ll: oracle, and the launcher's FUSE rung
  fuse3            # fusermount3
  libzstd1 liblzma5 liblz4-1 liblzo2-2  # codecs (P/Invoke)
  zstd xz-utils lz4                     # codec CLIs used as oracles
  attr             # setfattr/getfattr for xattr tests
  python3          # Debian's interpreter, used by the Python tests as a second target
  hyperfine        # benchmarks
  strace           # Xar.Cli.Tests: proves imports from an archive compile nothing
  # Debian's scientific stack, as issue 9's users have it: examples/sci-app, the writable-cache
  # tests, the standalone acceptance tests and bench/standalone (pip, setuptools and wheel build
  # the example's wheel; venv makes the native baseline)
  python3-numpy python3-scipy python3-matplotlib python3-numba python3-llvmlite
  python3-cairocffi python3-pydub python3-pip python3-setuptools python3-wheel python3-venv
  gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # ELF reader tests: own objects (ELF32 with -m32 -nostdlib, aarch64)
  python3-brotli libcairo2  # native library closure tests: a C++ extension, a dlopen'd library (cairocffi)
  debootstrap      # the minimal Debian roots the acceptance tests run archives in (MinimalHost)
  clang lld        # the linux-arm64 launcher, cross-compiled with Native AOT (src/Xar.Exec/Xar.Exec.csproj)
  qemu-user-static binfmt-support  # arm64 archives and the arm64 MinimalHost run under qemu-user (tests/Xar.Testing/Qemu.cs)
)

ensure_test_prerequisites() {
  local missing=()
  for p in "${XAR_TEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
