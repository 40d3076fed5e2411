"""The relay's C loop (server/media/_fanout.c, with its SRTP in _srtp.c). Optional: without a C
compiler and OpenSSL's headers plenary installs and runs the same loop in Python (see
server/media/fanout.py)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "server.media._fanout",
            ["server/media/_fanout.c", "server/media/_srtp.c"],
            depends=["server/media/_srtp.h"],
            libraries=["crypto"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
