# Warden benchmark plots (bench/run.sh calls it through bench/report.py):
#   gnuplot -e "dir='bench/results/<ts>'; configs='base iptables ...'; plots='latency throughput scaling'" bench/plot.gp
# Reads dir/latency-<config>.dat, dir/throughput.dat, dir/scaling.dat and
# writes those of dir/latency.png, dir/throughput.png, dir/scaling.png that
# `plots` names (a partial run has data for some only).
set terminal pngcairo size 1100,650 font "sans,10"
set grid
set key top left

# (a) latency by percentile, HdrHistogram-style: x = 1/(1-p) on a log axis.
if (strstrt(plots, "latency") > 0) {
set output dir."/latency.png"
set title "Latency by percentile at a fixed request rate (open loop, coordinated omission corrected)"
set logscale x
set logscale y
set xlabel "percentile"
set ylabel "latency (µs, log)"
set xtics ("0%%" 1, "50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)
set xrange [1:100000]
plot for [c in configs] dir."/latency-".c.".dat" using 2:3 with lines lw 2 title c
unset logscale
unset xtics
set xtics
unset xrange
}

# (b) max throughput per configuration: keep-alive requests/s and new connections/s.
if (strstrt(plots, "throughput") > 0) {
set output dir."/throughput.png"
set title "Max throughput per configuration (wrk -t1, median of rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30
set xlabel ""
set ylabel "per second"
set yrange [0:*]
set key top right
plot dir."/throughput.dat" using 2:xtic(1) title "requests/s (keep-alive)", \
     "" using 3 title "new connections/s (1 request each)"
set xtics norotate
unset style data
set yrange [*:*]
}

# (c) requests/s vs number of rules (the traffic matches the last rule).
if (strstrt(plots, "scaling") > 0) {
set output dir."/scaling.png"
set title "Throughput vs number of rules (the traffic matches the last one)"
set logscale x
set xlabel "rules"
set ylabel "per second"
set xtics (1, 10, 100, 1000, 10000)
set yrange [0:*]
set key outside right
plot dir."/scaling.dat" using 1:2 with linespoints lw 2 pt 7 title "Warden req/s (keep-alive)", \
     "" using 1:3 with linespoints lw 2 pt 5 title "iptables req/s (keep-alive)", \
     "" using 1:4 with linespoints lw 2 pt 9 title "nftables set req/s (keep-alive)", \
     "" using 1:5 with linespoints lw 2 pt 6 dt 2 title "Warden new conn/s", \
     "" using 1:6 with linespoints lw 2 pt 4 dt 2 title "iptables new conn/s", \
     "" using 1:7 with linespoints lw 2 pt 8 dt 2 title "nftables set new conn/s"
}
