{
  # burrowd's native packet I/O (helper/native), built by `node-gyp rebuild` from package.json's
  # install script. Linux only: elsewhere the target is empty and helper/native/index.ts says so.
  "targets": [
    {
      "target_name": "burrow_native",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "helper/native/addon.c",
            "helper/native/aead.c",
            "helper/native/common.c",
            "helper/native/tun.c",
            "helper/native/udp.c"
          ],
          "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
          "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes", "-Wunused-parameter"],
          "cflags!": ["-Wno-unused-parameter"],
          "configurations": {
            "Release": {
              "cflags!": ["-O3"],
              "cflags": ["-O2"]
            }
          }
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
