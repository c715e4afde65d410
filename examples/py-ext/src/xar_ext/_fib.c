#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Iterative Fibonacci in C: proves native code loads from the archive. */
static PyObject *fib(PyObject *self, PyObject *args) {
    long n;
    if (!PyArg_ParseTuple(args, "l", &n)) return NULL;
    if (n < 0) { PyErr_SetString(PyExc_ValueError, "n must be >= 0"); return NULL; }
    unsigned long long a = 0, b = 1;
    for (long i = 0; i < n; i++) { unsigned long long t = a + b; a = b; b = t; }
    return PyLong_FromUnsignedLongLong(a);
}

static PyMethodDef methods[] = {{"fib", fib, METH_VARARGS, "n-th Fibonacci number"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fib", NULL, -1, methods};
PyMODINIT_FUNC PyInit__fib(void) { return PyModule_Create(&module); }
