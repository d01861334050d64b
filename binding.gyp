{
  # burrowd's native parts, built by `node-gyp rebuild` from package.json's install script.
  # burrow_native: packet I/O and the transport fast path (helper/native), Linux only; elsewhere the
  # target is empty and helper/native/index.ts says so. Its fast path calls Node's own OpenSSL.
  # burrow_crypto: the datapath AEAD and the handshake's X25519 and BLAKE2s on Node's own OpenSSL
  # (helper/crypto/native), kept apart so that burrow_native loads in Electron too.
  "targets": [
    {
      "target_name": "burrow_native",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "helper/native/addon.c",
            "helper/native/common.c",
            "helper/native/fp-core.c",
            "helper/native/fp-engine.c",
            "helper/native/fp-engine-rx.c",
            "helper/native/fp-engine-tx.c",
            "helper/native/fp-filter.c",
            "helper/native/fp-gro.c",
            "helper/native/fp-napi.c",
            "helper/native/fp-napi-engine.c",
            "helper/native/fp-napi-packet.c",
            "helper/native/fp-napi-replay.c",
            "helper/native/fp-replay.c",
            "helper/native/fp-routes.c",
            "helper/native/fp-tso.c",
            "helper/native/peercred.c",
            "helper/native/route-codec.c",
            "helper/native/route-get.c",
            "helper/native/route-netlink.c",
            "helper/native/sdnotify.c",
            "helper/native/tun.c",
            "helper/native/udp.c",
            "helper/native/udp-addr.c",
            "helper/native/udp-recv.c",
            "helper/native/udp-send.c",
            "helper/native/udp-source.c"
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
    },
    {
      "target_name": "burrow_crypto",
      "sources": [
        "helper/crypto/native/addon.c",
        "helper/crypto/native/aead.c",
        "helper/crypto/native/args.c",
        "helper/crypto/native/blake2s.c",
        "helper/crypto/native/x25519.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"]
        }
      }
    }
  ]
}
