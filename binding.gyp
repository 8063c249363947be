{
  # The install-time build (node-gyp-build compiles this when no prebuild matches) and the prebuildify
  # build. CMakeLists.txt builds the same sources (native/sources.txt) for development and ctest.
  "variables": {
    "paramscope_blas%": "<!(node scripts/gyp-config.js blas)",
    "paramscope_blas_libdir%": "<!(node scripts/gyp-config.js blas-libdir)"
  },
  "targets": [
    {
      "target_name": "paramscope",
      "sources": ["<!@(node scripts/gyp-config.js sources)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include",
        "native/src"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "EIGEN_MPL2_ONLY",
        "PARAMSCOPE_WITH_BLAS=<(paramscope_blas)",
        "PARAMSCOPE_BLAS_LIBDIR=\"<(paramscope_blas_libdir)\""
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y"],
      # Eigen as a system include: its own warnings are not ours to fix.
      "cflags_cc": ["-std=c++20", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter",
                    "-isystem", "<(module_root_dir)/native/third_party/eigen"],
      "ldflags": ["-Wl,--exclude-libs,ALL"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
