{
  "targets": [
    {
      "target_name": "ferry_native",
      "sources": ["native/ferry_native.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
