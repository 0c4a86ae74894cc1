# Sourced by the tests that compare served answers with the golden ones bit
# for bit (tests/integration/testdata/golden). Those were recorded with
# OpenBLAS's Haswell kernels (AVX2 and FMA: what Haswell and AMD Zen 1-3
# CPUs get). On a CPU with AVX-512 OpenBLAS picks its SkylakeX kernels,
# whose sums round differently in the last bit (5 of the golden scores
# moved by 1 ulp on an AVX-512 EPYC), so the server these tests start uses
# the Haswell kernels wherever the CPU can run them. The model is the same;
# only the order of a dot product's additions changes.
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=Haswell
fi
