{
  "targets": [
    {
      "target_name": "ferry_native",
      "sources": ["native/ferry_native.c", "native/list_dir.c", "native/identify.c", "native/beneath.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
