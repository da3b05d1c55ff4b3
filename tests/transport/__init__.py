"""HTTP11Transport over real sockets: real servers, a scripted hostile server, TLS, fuzzing."""
