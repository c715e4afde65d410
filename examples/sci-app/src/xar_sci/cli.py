"""`sci [OUTPUT.png]`: a little of each library of Debian's scientific stack, with deterministic
output, so that a run from an archive can be compared with the native run byte for byte."""
import hashlib
import os
import sys
import warnings


def _numpy_and_scipy():
    import numpy as np
    import scipy
    from scipy import integrate, linalg, optimize, signal

    a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    print("numpy %s: eigenvalues %s" % (np.__version__, " ".join("%.9f" % v for v in np.linalg.eigvalsh(a))))
    print("scipy %s: det %.9f" % (scipy.__version__, linalg.det(a)))
    print("  quad(x^2 exp(-x), 0, inf) = %.9f" % integrate.quad(lambda x: x * x * np.exp(-x), 0, np.inf)[0])
    print("  brentq(cos x - x) = %.9f" % optimize.brentq(lambda x: np.cos(x) - x, 0, 1))
    b, a_ = signal.butter(4, 0.2)
    filtered = signal.lfilter(b, a_, np.sin(np.linspace(0, 20, 200)))
    print("  butterworth filtered sum = %.9f" % filtered.sum())


def _numba():
    import numba

    from xar_sci.kernels import logistic_orbit

    orbit = logistic_orbit(3.7, 0.25, 1000)
    print("numba %s: logistic orbit mean %.9f last %.9f" % (numba.__version__, orbit.mean(), orbit[-1]))
    return orbit


def _matplotlib(orbit, output):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4, 3), dpi=80)
    axes.plot(orbit[:200], linewidth=0.8)
    axes.set_title("logistic map, r = 3.7")
    # No metadata that changes run to run (Software, dates): the PNG is byte-identical every time.
    figure.savefig(output, metadata={"Software": None})
    plt.close(figure)
    with open(output, "rb") as png:
        digest = hashlib.sha256(png.read()).hexdigest()
    print("matplotlib %s: %s sha256 %s" % (matplotlib.__version__, os.path.basename(output), digest))


def _cairo():
    try:
        import cairocffi
    except (ImportError, OSError) as e:  # OSError: libcairo.so.2 not found by dlopen
        print("cairocffi: unavailable (%s)" % e)
        return
    surface = cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 64, 64)
    context = cairocffi.Context(surface)
    context.set_source_rgb(0.2, 0.4, 0.8)
    context.arc(32, 32, 20, 0, 6.283185307179586)
    context.fill()
    surface.flush()
    print("cairocffi %s (cairo %s): circle sha256 %s" % (
        cairocffi.VERSION, cairocffi.cairo_version_string(), hashlib.sha256(bytes(surface.get_data())).hexdigest()))


def _pydub():
    with warnings.catch_warnings():
        # pydub warns at import when ffmpeg is not on PATH; WAV needs no ffmpeg.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            from pydub.generators import Sine
        except ImportError as e:
            print("pydub: unavailable (%s)" % e)
            return
    tone = Sine(440, sample_rate=8000, bit_depth=16).to_audio_segment(duration=250)
    print("pydub: 440 Hz tone, %d ms, %d frames, sha256 %s" % (
        len(tone), int(tone.frame_count()), hashlib.sha256(tone.raw_data).hexdigest()))


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "sci.png"
    _numpy_and_scipy()
    orbit = _numba()
    _matplotlib(orbit, output)
    _cairo()
    _pydub()
    return 0
