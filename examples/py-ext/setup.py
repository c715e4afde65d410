from setuptools import Extension, setup

setup(ext_modules=[Extension("xar_ext._fib", ["src/xar_ext/_fib.c"])])
