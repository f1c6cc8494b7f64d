set terminal svg size 960,520 dynamic noenhanced font 'DejaVu Sans,12' background rgb 'white'
set datafile missing '?'
set grid ytics
set key top right
set output 'throughput.svg'
set title 'Throughput, 100-byte records, batches of 1000 (log scale)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y '%.0s%c'
set ylabel 'records/s'
set xtics rotate by -30
plot 'throughput.dat' using 2:xtic(1) title 'produce, no fsync', '' using 3 title 'produce, fsync per batch', '' using 4 title 'consume'
unset style
set style data lines
unset xtics
set xtics
set xtics norotate
set output 'latency-append.svg'
set title 'Single-record append latency (CDF, no fsync)'
set logscale x
unset logscale y
set format x '%.0s%c'
set format y '%.1f'
set xlabel 'latency (ns, log scale)'
set ylabel 'fraction of records'
set yrange [0:1]
set key bottom right
plot 'cdf-raw-append_latency.dat' using 1:2 with lines lw 2 title 'raw', 'cdf-franz-append_latency.dat' using 1:2 with lines lw 2 title 'franz', 'cdf-lmdb-append_latency.dat' using 1:2 with lines lw 2 title 'lmdb', 'cdf-rocksdb-append_latency.dat' using 1:2 with lines lw 2 title 'rocksdb', 'cdf-leveldb-append_latency.dat' using 1:2 with lines lw 2 title 'leveldb', 'cdf-sqlite-append_latency.dat' using 1:2 with lines lw 2 title 'sqlite', 'cdf-tkrzw-append_latency.dat' using 1:2 with lines lw 2 title 'tkrzw', 'cdf-redis-append_latency.dat' using 1:2 with lines lw 2 title 'redis', 'cdf-nats-append_latency.dat' using 1:2 with lines lw 2 title 'nats', 'cdf-kafka-append_latency.dat' using 1:2 with lines lw 2 title 'kafka', 'cdf-chronicle-append_latency.dat' using 1:2 with lines lw 2 title 'chronicle'
set yrange [*:*]
set output 'latency-e2e.svg'
set title 'Producer thread to consumer thread latency (CDF)'
set logscale x
unset logscale y
set format x '%.0s%c'
set format y '%.1f'
set xlabel 'latency (ns, log scale)'
set ylabel 'fraction of records'
set yrange [0:1]
set key bottom right
plot 'cdf-raw-e2e.dat' using 1:2 with lines lw 2 title 'raw', 'cdf-franz-e2e.dat' using 1:2 with lines lw 2 title 'franz', 'cdf-lmdb-e2e.dat' using 1:2 with lines lw 2 title 'lmdb', 'cdf-rocksdb-e2e.dat' using 1:2 with lines lw 2 title 'rocksdb', 'cdf-leveldb-e2e.dat' using 1:2 with lines lw 2 title 'leveldb', 'cdf-sqlite-e2e.dat' using 1:2 with lines lw 2 title 'sqlite', 'cdf-tkrzw-e2e.dat' using 1:2 with lines lw 2 title 'tkrzw', 'cdf-redis-e2e.dat' using 1:2 with lines lw 2 title 'redis', 'cdf-nats-e2e.dat' using 1:2 with lines lw 2 title 'nats', 'cdf-chronicle-e2e.dat' using 1:2 with lines lw 2 title 'chronicle'
set yrange [*:*]
set output 'sizes.svg'
set title 'Record-size sweep: produce, no fsync'
set logscale x 2
set logscale y
set format x '%.0s%cB'
set format y '%g'
set xlabel 'record size (bytes)'
set ylabel 'MB/s of records'
set key top left
plot 'sizes.dat' using 1:2 with linespoints lw 2 title 'raw produce', 'sizes.dat' using 1:4 with linespoints lw 2 title 'franz produce', 'sizes.dat' using 1:6 with linespoints lw 2 title 'chronicle produce'
set output 'partitions.svg'
set title 'franz partition scaling (one thread)'
set logscale x 2
unset logscale y
set yrange [0:*]
set format x '%g'
set format y '%.0s%c'
set xlabel 'partitions'
set ylabel 'records/s'
set key top right
plot 'partitions.dat' using 1:2 with linespoints lw 2 title 'produce', '' using 1:3 with linespoints lw 2 title 'consume'
unset output
