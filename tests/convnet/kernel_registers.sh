#!/usr/bin/env bash
# The conv kernels keep their accumulators in registers: no loop of multiply-adds in fast_product_cols
# or fast_wgrad_tile may touch the stack. A guard on the compiled code, not on timing: once, GCC kept
# the dW tile's 24 accumulators in memory and stored them on every step (sum_lanes16 took a pointer to
# them), and dW ran at 36% of the FMA peak instead of 78% with every test still passing.
# A loop is a backward jump; one that holds at least 8 FMAs and no other loop is a kernel's inner loop.
# Any operand in it that moves a vector to or from the stack, (%rsp), is a spill (a scalar read there is
# a loop bound passed on the stack; at -O3 %rbp is just another register). ctest passes the library as SGDLAB_KERNEL_LIB (its default: the
# build's core/); tests/convnet.cmake registers this only for builds with kernels, GCC's at -O3.
source "$(dirname "$0")/../lib.sh"
lib="${SGDLAB_KERNEL_LIB:-$BIN/../core/libsgdcore.a}"
check "the core library is at $lib" test -f "$lib"

# spills FUNCTION: "loops spills" of one function of the library's disassembly (kept in $TMP/dis.s)
spills() {
  awk -v fn="<$1>:" -v name="$1" '
    function hex(s,   v, i) { v = 0; s = tolower(s)
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v }
    $2 == fn { on = 1; next }
    on && /^$/ { on = 0 }
    on && /^ *[0-9a-f]+:/ {
      addr = hex(substr($1, 1, length($1) - 1))
      n++; a[n] = addr; op[n] = $2; text[n] = $0
    }
    END {
      loops = 0; bad = 0
      for (i = 1; i <= n; i++) {
        if (op[i] !~ /^j/) continue
        split(text[i], f, " ")
        if (f[3] !~ /^[0-9a-f]+$/) continue # an indirect jump
        target = hex(f[3])
        if (target >= a[i]) continue
        fma = 0; stack = 0; inner = 1
        for (j = 1; j < i; j++)
          if (a[j] >= target) {
            if (op[j] ~ /^vfmadd/) fma++
            if (text[j] ~ /\(%rsp[,)]/ && text[j] ~ /%[xyz]mm/) stack++
            if (back[j]) inner = 0 # holds another loop: not an inner one
          }
        back[i] = 1
        if (fma >= 8 && inner) {
          loops++; bad += stack
          if (stack) printf "%s: the loop at %s (%d FMAs) has %d vector stack operands\n", name, f[3], fma, stack > "/dev/stderr"
        }
      }
      print loops, bad
    }' "$TMP/dis.s"
}

objdump -d --no-show-raw-insn "$lib" >"$TMP/dis.s"
for fn in fast_product_cols fast_wgrad_tile; do
  check "$lib has $fn (a build with the fast path)" grep -q "<$fn>:" "$TMP/dis.s"
  read -r loops bad <<<"$(spills "$fn")"
  check "$fn has inner loops of multiply-adds (found $loops)" test "$loops" -ge 1
  check "$fn's inner loops keep to registers ($bad stack operands in them)" test "$bad" -eq 0
done
finish
