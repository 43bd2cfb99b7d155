package probe

// The committed flowlens_bpfel.{go,o} come from this line; regenerate with `make -C bpf generate`
// (clang from Debian bookworm, 14.0.x).
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type conn -type udp_key -type udp_flow -type reported -type refresh flowlens ../../kernel/flowlens.bpf.c -- -I../../kernel
