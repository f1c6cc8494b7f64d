// Chronicle Queue 3.6 (IndexedChronicle) in franz's peer benchmarks: the
// workloads of bench/peers/driver.hpp, the records of bench/peers/peer.hpp,
// the same options and the same CSV, in Java (Chronicle is a Java library).
// Run it through run.sh next to it, which builds the classpath from dpkg -L,
// compiles this file and starts java with the flags below.
//
// The system. One IndexedChronicle (ChronicleQueueBuilder.indexed(<dir>/queue),
// builder defaults: 128 MiB data blocks, 32 MiB index blocks, memory-mapped
// queue.data + queue.index) per write run, in a fresh directory. A record is
// one excerpt: startExcerpt(S), write(byte[], off, S), finish(). The excerpt
// holds the record's bytes exactly as peer.hpp lays them out (le64 sequence
// number, then S - 8 bytes that depend only on i % B, the same bytes as the
// C++ record_maker makes).
//
// Durability.
//   none            synchronous(false): finish() forces nothing; the kernel
//                   writes the mapped pages back when it likes.
//   fsync per batch synchronous(false), and on each batch's last record
//                   nextSynchronous(true) (on the ExcerptAppender interface).
//                   That record's finish() then calls force() on the
//                   appender's current data block and current index block
//                   (VanillaMappedBytes.force -> MappedByteBuffer.force ->
//                   msync(MS_SYNC) of the whole mapped block; Linux writes
//                   back only its dirty pages). force() reaches only the
//                   *current* blocks, so when a batch crossed into a new data
//                   or index block (the appender's dataBuffer/indexBuffer
//                   changed during the batch; read by reflection, no JVM
//                   flag needed), the part of the batch in the old block is
//                   made durable by fdatasync (FileChannel.force(false)) of
//                   queue.data and queue.index. Counted and shown on stderr.
//
// Reads. A tailer (createTailer(), nextIndex() until false, finish()) reads
// each excerpt in place from the mapped block: the sink sums every byte with
// readLong(offset) 8 bytes at a time (Unsafe.getLong on the mapping; no
// copy), the tail with readByte. The smoke test copies each record out
// (readFully) and compares it byte for byte with the record written at its
// position.
//
// Timing. Wall times with System.nanoTime (CLOCK_MONOTONIC on Linux, as the
// C++ mono_ns). append_latency times each append with System.nanoTime and
// subtracts the median cost of two back-to-back System.nanoTime calls (the
// C++ driver uses fenced rdtsc the same way). e2e: System.nanoTime send time
// in bytes 8..16, the consumer thread spins on nextIndex().
//
// Page-cache warm-up: before every write run, bench_util.hpp's prewarm (a
// scratch file written and unlinked) and then the same bytes once more
// through a shared mapping, since Chronicle's page cache comes from mmap
// faults (see prewarm()). --no-prewarm: neither.
//
// JIT warm-up (not in the C++ driver: C++ needs none). Before the timed runs
// of each workload, one untimed run of the same code on a throwaway queue
// (deleted at once): produce/consume and each size_sweep size: min(N, 200k,
// 64 MiB / size) records written and read back twice; produce_fsync: 20
// batches; append_latency: min(N, 200k) timed single appends; e2e: a paced
// handoff of min(N, 50k) records. The timer's own cost is measured after
// its warm-up. Nothing of this with --smoke.
//
// Java 17. The jars need, as tested here on OpenJDK 17.0.15:
//   --add-opens java.base/java.lang=ALL-UNNAMED    (lang's AbstractBytes makes
//       String.value accessible in its static initializer; without it every
//       createAppender() fails with InaccessibleObjectException)
//   --add-exports java.base/sun.nio.ch=ALL-UNNAMED (VanillaMappedBytes casts
//       to sun.nio.ch.DirectBuffer; without it IllegalAccessError on mapping)
// and nothing else. close(): Debian's openhft-lang 6.7.6-2 ("Port to Java
// 11") unmaps with sun.misc.Unsafe.invokeCleaner (public in jdk.unsupported),
// not DirectBuffer.cleaner(), so IndexedChronicle.close() works on Java 17:
// no NoSuchMethodError, and the mappings are gone from /proc/self/maps after
// it (the smoke test checks this after every close). Note lang swallows a
// failing invokeCleaner silently, hence that check.
//
// Output: CSV on stdout as driver.hpp's reporter prints it (C's %.6g
// reproduced), CDF files cdf-chronicle-<workload>.dat in --cdf-dir, progress
// on stderr, "chronicle_peer: ..." and exit 1 on failure (mismatch, stall).

import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import net.openhft.chronicle.Chronicle;
import net.openhft.chronicle.ChronicleQueueBuilder;
import net.openhft.chronicle.ExcerptAppender;
import net.openhft.chronicle.ExcerptTailer;

public final class ChronicleBench {
  static final String SYSTEM = "chronicle";
  static final String PROG = "chronicle_peer";
  static final String[] WORKLOADS = {"produce", "produce_fsync", "consume", "append_latency", "e2e", "size_sweep",
                                     "partitions"};

  static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
  static final PrintStream OUT =
      new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);

  // --- options (driver.hpp's) ------------------------------------------------------------

  static long records = 1_000_000;
  static int recordBytes = 100;
  static int batchRecords = 1000;
  static int reps = 3;
  static boolean smoke = false, quiet = false, prewarmOn = true;
  static String cdfDir = "";
  static String tmpdir = "/tmp";
  static List<String> only = new ArrayList<>();
  static long[] sizes = {16, 64, 256, 1024, 4096, 16384, 65536};
  static long sweepBytes = 1L << 30;
  static final long E2E_WARMUP = 10_000, PACE_MIN_NS = 5_000, PACE_MAX_NS = 20_000;

  static boolean wants(String w) { return only.isEmpty() || only.contains(w); }

  static void usage(PrintStream out) {
    out.print("usage: " + PROG + " [options]\n"
        + "  --records N        records per workload (default 1M)\n"
        + "  --record-bytes S   record size (default 100)\n"
        + "  --batch N          records per batch (default 1000)\n"
        + "  --reps R           runs per figure, median reported (default 3)\n"
        + "  --only LIST        comma-separated subset of produce,produce_fsync,consume,\n"
        + "                     append_latency,e2e,size_sweep,partitions\n"
        + "  --sizes LIST       record sizes for size_sweep (default 16,...,65536)\n"
        + "  --sweep-bytes N    bytes per size_sweep run at most (default 1G)\n"
        + "  --partitions LIST  accepted for the driver's sake; chronicle has no partitions\n"
        + "  --server HOST:PORT accepted and ignored (chronicle is embedded)\n"
        + "  --cdf-dir DIR      where latency CDF files go (default: none written)\n"
        + "  --smoke            check instead of time: every workload's records read\n"
        + "                     back exactly as written (default --records 10k)\n"
        + "  --tmpdir DIR       parent of the temporary directory (default /tmp)\n"
        + "  --no-prewarm       do not warm the page cache before write runs\n"
        + "  --quiet            no progress on stderr\n");
    out.flush();
  }

  static final Pattern NUMBER = Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");

  // bench_util.hpp's parse_count: a number >= min and <= 1e12, optional k/M/G suffix or exponent.
  static long parseCount(String flag, String s, double min) {
    String num = s;
    double scale = 1;
    if (!s.isEmpty()) {
      switch (s.charAt(s.length() - 1)) {
        case 'k': case 'K': scale = 1e3; num = s.substring(0, s.length() - 1); break;
        case 'm': case 'M': scale = 1e6; num = s.substring(0, s.length() - 1); break;
        case 'g': case 'G': scale = 1e9; num = s.substring(0, s.length() - 1); break;
        default: break;
      }
    }
    double v = Double.NaN;
    if (NUMBER.matcher(num).matches()) v = Double.parseDouble(num) * scale;
    if (!(v >= min) || v > 1e12) {
      System.err.printf(Locale.ROOT, "%s: %s needs a count >= %.0f, got '%s'%n", PROG, flag, min, s);
      System.exit(2);
    }
    return Math.round(v);
  }

  static long[] parseList(String flag, String s, double min) {
    List<Long> v = new ArrayList<>();
    for (String item : s.split(",", -1)) {
      if (item.isEmpty() && v.size() > 0) break;
      v.add(parseCount(flag, item, min));
    }
    if (v.isEmpty()) parseCount(flag, "", min);
    return v.stream().mapToLong(Long::longValue).toArray();
  }

  static void parseOptions(String[] argv) {
    boolean recordsSet = false;
    for (int i = 0; i < argv.length; ++i) {
      final String a = argv[i];
      final boolean takesValue = Arrays.asList("--records", "--record-bytes", "--batch", "--reps", "--sizes",
          "--sweep-bytes", "--partitions", "--server", "--cdf-dir", "--only", "--tmpdir").contains(a);
      String value = null;
      if (takesValue) {
        if (i + 1 >= argv.length) {
          System.err.printf("%s: %s needs a value%n", PROG, a);
          System.exit(2);
        }
        value = argv[++i];
      }
      switch (a) {
        case "--records": records = parseCount(a, value, 1); recordsSet = true; break;
        case "--record-bytes": recordBytes = (int) parseCount(a, value, 16); break;
        case "--batch": batchRecords = (int) parseCount(a, value, 1); break;
        case "--reps": reps = (int) Math.min(parseCount(a, value, 1), 100); break;
        case "--sizes": sizes = parseList(a, value, 16); break;
        case "--sweep-bytes": sweepBytes = parseCount(a, value, 1); break;
        case "--partitions": parseList(a, value, 1); break;  // no partitions here
        case "--server": break;                               // embedded: no server
        case "--cdf-dir": cdfDir = value; break;
        case "--smoke": smoke = true; break;
        case "--only":
          for (String w : value.split(",")) {
            if (w.isEmpty()) continue;
            if (!Arrays.asList(WORKLOADS).contains(w)) {
              System.err.printf("%s: unknown workload '%s' in --only%n", PROG, w);
              System.exit(2);
            }
            only.add(w);
          }
          break;
        case "--tmpdir": tmpdir = value; break;
        case "--csv": case "--no-baseline": break;  // common options without meaning here
        case "--quiet": quiet = true; break;
        case "--no-prewarm": prewarmOn = false; break;
        case "--help": case "-h": usage(System.out); System.exit(0); break;
        default:
          System.err.printf("%s: unknown option '%s'%n", PROG, a);
          usage(System.err);
          System.exit(2);
      }
    }
    if (smoke && !recordsSet) records = 10_000;
    if (batchRecords > Integer.MAX_VALUE / Math.max(recordBytes, 16)) die("--batch x --record-bytes is too large");
  }

  // --- the program, its temporary directory, failure, progress ---------------------------

  static Path tmp;  // <tmpdir>/franz-peers-XXXX, removed at exit
  static int freshSeq = 0;

  static synchronized void cleanup() {
    if (tmp == null) return;
    removeTree(tmp);
    tmp = null;
  }

  static void removeTree(Path p) {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException | RuntimeException e) {
      // best effort, as the C++ cleanup()
    }
  }

  // "<prog>: <message>" on stderr, temporary directory removed, exit 1 (halt:
  // other threads may still run).
  static void die(String fmt, Object... args) {
    OUT.flush();
    System.err.println(PROG + ": " + String.format(Locale.ROOT, fmt, args));
    System.err.flush();
    cleanup();
    Runtime.getRuntime().halt(1);
  }

  static void progress(String fmt, Object... args) {
    if (quiet) return;
    System.err.println("[" + PROG + "] " + String.format(Locale.ROOT, fmt, args));
  }

  static void note(String fmt, Object... args) {
    System.err.println(PROG + ": " + String.format(Locale.ROOT, fmt, args));
  }

  static Path fresh(String what) {
    Path p = tmp.resolve(what + "-" + freshSeq++);
    try {
      Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (IOException e) {
      die("mkdir %s: %s", p, e);
    }
    return p;
  }

  // bench_util.hpp's prewarm: write `bytes` to a scratch file and unlink it,
  // so the next run's page cache comes from just-freed, host-backed pages.
  // Then the same through a shared mapping (touch one byte per 4 KiB page,
  // unmap, unlink): Chronicle allocates its page cache in mmap write faults,
  // which take folios of another order than write() does, and with the
  // write() prewarm alone produce was bimodal here (about 5M or 20M rec/s
  // from run to run, ~8 us per fresh 4 KiB page in the slow mode); with the
  // mapped one it stayed at 19-21M rec/s. Untimed; nothing with --no-prewarm.
  static final byte[] PREWARM_CHUNK = new byte[1 << 20];
  static { Arrays.fill(PREWARM_CHUNK, (byte) 'w'); }

  static void prewarm(long bytes) {
    if (!prewarmOn) return;
    Path p = tmp.resolve("prewarm.tmp");
    try {
      try (FileOutputStream o = new FileOutputStream(p.toFile())) {
        for (long done = 0; done < bytes; done += PREWARM_CHUNK.length) o.write(PREWARM_CHUNK);
      }
      Files.delete(p);
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ,
                                             StandardOpenOption.WRITE)) {
        for (long pos = 0; pos < bytes; pos += 1L << 30) {
          final long len = Math.min(1L << 30, bytes - pos);
          final MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, pos, len);
          for (int i = 0; i < len; i += 4096) m.put(i, (byte) 'w');
          unmap(m);
        }
      }
      Files.delete(p);
    } catch (IOException e) {
      die("prewarm %s: %s", p, e);
    }
  }

  // sun.misc.Unsafe.invokeCleaner (public in jdk.unsupported, no JVM flag):
  // what Debian's openhft-lang unmaps with, too.
  static final Object UNSAFE;
  static final Method INVOKE_CLEANER;

  static {
    try {
      final Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
      f.setAccessible(true);
      UNSAFE = f.get(null);
      INVOKE_CLEANER = UNSAFE.getClass().getMethod("invokeCleaner", ByteBuffer.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  static void unmap(MappedByteBuffer m) {
    try {
      INVOKE_CLEANER.invoke(UNSAFE, m);
    } catch (ReflectiveOperationException e) {
      die("unmap: %s", e);
    }
  }

  // --- records (peer.hpp's record_maker) -------------------------------------------------

  static long xorshift64s(long[] x) {
    long v = x[0];
    v ^= v >>> 12;
    v ^= v << 25;
    v ^= v >>> 27;
    x[0] = v;
    return v * 0x2545F4914F6CDD1DL;
  }

  static final class RecordMaker {
    final int size, batch;
    final byte[] buf;

    RecordMaker(int recordBytes, int batchRecords) {
      size = recordBytes;
      batch = batchRecords;
      buf = new byte[size * batch];
      if (recordBytes < 8) die("records must be at least 8 bytes (their sequence number)");
      for (int slot = 0; slot < batch; ++slot) {
        long[] x = {0x9E3779B97F4A7C15L ^ ((long) slot * 0x100000001B3L) ^ recordBytes};
        int r = slot * size;
        for (int j = 8; j < size; j += 8) {
          long v = xorshift64s(x);
          for (int b = 0; b < Math.min(8, size - j); ++b) buf[r + j + b] = (byte) (v >>> (8 * b));
        }
      }
    }

    // Record seq, in its batch slot: returns its offset in buf.
    int one(long seq) {
      int off = (int) (seq % batch) * size;
      LONG_LE.set(buf, off, seq);
      return off;
    }

    boolean matches(long seq, byte[] p, int n) {
      if (n != size) return false;
      if ((long) LONG_LE.get(p, 0) != seq) return false;
      int want = (int) (seq % batch) * size;
      return Arrays.equals(p, 8, size, buf, want + 8, want + size);
    }

    long expectedSum(long n) {
      long[] tail = new long[batch];
      for (int slot = 0; slot < batch; ++slot) tail[slot] = byteSum(buf, slot * size + 8, size - 8);
      long s = 0;
      for (long i = 0; i < n; ++i) {
        s += tail[(int) (i % batch)];
        for (int b = 0; b < 8; ++b) s += (i >>> (8 * b)) & 0xff;
      }
      return s;
    }
  }

  // --- byte sums -------------------------------------------------------------------------

  static final long M8 = 0x00FF00FF00FF00FFL, M16 = 0x0000FFFF0000FFFFL;

  static long fold16(long acc) {  // 4 lanes of 16 bits -> their sum
    long t = (acc & M16) + ((acc >>> 16) & M16);
    return (t & 0xFFFFFFFFL) + (t >>> 32);
  }

  static long byteSum(byte[] p, int off, int n) {
    long s = 0;
    int i = off;
    final int whole = off + (n & ~7), end = off + n;
    while (i < whole) {
      final int stop = Math.min(whole, i + 8 * 128);  // 128 longs: lanes stay below 65536
      long acc = 0;
      for (; i < stop; i += 8) {
        long x = (long) LONG_LE.get(p, i);
        acc += (x & M8) + ((x >>> 8) & M8);
      }
      s += fold16(acc);
    }
    for (; i < end; ++i) s += p[i] & 0xFF;
    return s;
  }

  // Every byte of the tailer's current excerpt, read in place.
  static long byteSum(ExcerptTailer t, int n) {
    long s = 0;
    int i = 0;
    final int whole = n & ~7;
    while (i < whole) {
      final int stop = Math.min(whole, i + 8 * 128);
      long acc = 0;
      for (; i < stop; i += 8) {
        long x = t.readLong(i);
        acc += (x & M8) + ((x >>> 8) & M8);
      }
      s += fold16(acc);
    }
    for (; i < n; ++i) s += t.readByte(i) & 0xFF;
    return s;
  }

  // Checks byteSum's 8-byte path against the plain loop (as check_byte_sum).
  static void checkByteSum() {
    byte[] b = new byte[300];
    for (int i = 0; i < b.length; ++i) b[i] = (byte) (i * 131 + 7);
    for (int off = 0; off < 16; ++off)
      for (int n = 0; n + off <= b.length; ++n) {
        long s = 0;
        for (int i = 0; i < n; ++i) s += b[off + i] & 0xFF;
        if (byteSum(b, off, n) != s) die("byte_sum self-check failed (off %d, n %d)", off, n);
      }
  }

  static long readLE(ExcerptTailer t, int off) {
    long v = t.readLong(off);
    return NATIVE_LE ? v : Long.reverseBytes(v);
  }

  // --- the sink (peer.hpp's) -------------------------------------------------------------

  static final int SUM = 0, VERIFY = 1, LATENCY = 2;

  static final class Sink {
    final int mode;
    final RecordMaker rm;
    long count = 0, sum = 0;
    long[] latencies;
    byte[] copy;

    Sink(int mode, RecordMaker rm, long expected) {
      this.mode = mode;
      this.rm = rm;
      if (mode == LATENCY) latencies = new long[(int) expected];
      if (mode == VERIFY) copy = new byte[rm.size];
    }

    void accept(ExcerptTailer t, int n) {
      sum += byteSum(t, n);
      if (mode == VERIFY) {
        if (n != rm.size) mismatch(t, n);
        t.readFully(0L, copy, 0, n);
        if (!rm.matches(count, copy, n)) mismatch(t, n);
      } else if (mode == LATENCY) {
        final long now = System.nanoTime();
        if (n < 16 || readLE(t, 0) != count) mismatch(t, n);
        if (count >= latencies.length) mismatch(t, n);
        latencies[(int) count] = now - readLE(t, 8);
      }
      ++count;
    }

    void mismatch(ExcerptTailer t, int n) {
      long got = n >= 8 ? readLE(t, 0) : 0;
      die("read back record %d: got %d bytes with sequence number %d, not what was written", count, n, got);
    }
  }

  // --- the store ---------------------------------------------------------------------------

  // The appender's current blocks (package-private fields of Chronicle 3.6's
  // AbstractIndexedExcerpt), to tell when a batch crossed a block.
  static final Field DATA_BUFFER, INDEX_BUFFER;

  static {
    Field d = null, x = null;
    try {
      Class<?> c = Class.forName("net.openhft.chronicle.IndexedChronicle$AbstractIndexedExcerpt", false,
                                 ChronicleBench.class.getClassLoader());
      d = c.getDeclaredField("dataBuffer");
      x = c.getDeclaredField("indexBuffer");
      d.setAccessible(true);
      x.setAccessible(true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      d = x = null;  // then every batch also gets the fdatasync (see settings())
    }
    DATA_BUFFER = d;
    INDEX_BUFFER = x;
  }

  static long crossings = 0;  // fsync-per-batch batches that crossed a block (fdatasync added)

  static final class Store {
    final Path dir;
    final int size;
    final boolean perBatch;
    final Chronicle chronicle;
    final ExcerptAppender appender;
    FileChannel dataFile, indexFile;
    boolean closed = false;

    Store(Path dir, int size, boolean perBatch) {
      this.dir = dir;
      this.size = size;
      this.perBatch = perBatch;
      final String base = dir.resolve("queue").toString();
      try {
        chronicle = ChronicleQueueBuilder.indexed(base).synchronous(false).build();
        appender = chronicle.createAppender();
        if (perBatch) {
          dataFile = FileChannel.open(Paths.get(base + ".data"), StandardOpenOption.WRITE);
          indexFile = FileChannel.open(Paths.get(base + ".index"), StandardOpenOption.WRITE);
        }
      } catch (IOException e) {
        throw new IllegalStateException("opening " + base, e);
      }
    }

    Object block(Field f) {
      try {
        return f.get(appender);
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }

    Object dataBlock() { return DATA_BUFFER == null ? null : block(DATA_BUFFER); }

    Object indexBlock() { return INDEX_BUFFER == null ? null : block(INDEX_BUFFER); }

    // After a perBatch batch whose last finish() forced the current blocks:
    // if the appender moved to another data or index block during the batch
    // (or the blocks cannot be seen), fdatasync both files for the part of
    // the batch in the old block.
    void batchDone(Object data0, Object index0) {
      if (DATA_BUFFER != null && dataBlock() == data0 && indexBlock() == index0) return;
      try {
        dataFile.force(false);
        indexFile.force(false);
      } catch (IOException e) {
        die("fdatasync %s: %s", dir, e);
      }
      ++crossings;
    }

    void appendOne(byte[] buf, int off) {
      final ExcerptAppender a = appender;
      a.startExcerpt(size);
      a.write(buf, off, size);
      a.finish();
    }

    void readAll(Sink k) {
      try {
        final ExcerptTailer t = chronicle.createTailer();
        while (t.nextIndex()) {
          k.accept(t, (int) t.limit());
          t.finish();
        }
      } catch (IOException e) {
        die("tailer on %s: %s", dir, e);
      }
    }

    void close() {
      if (closed) return;
      closed = true;
      try {
        chronicle.close();
        if (dataFile != null) dataFile.close();
        if (indexFile != null) indexFile.close();
      } catch (IOException | LinkageError e) {
        die("close %s: %s", dir, e);
      }
      if (smoke) checkUnmapped(dir);
    }
  }

  static int closesChecked = 0;

  // After close(): no mapping of the store's files left in this process.
  static void checkUnmapped(Path dir) {
    try {
      final String d = dir.toString() + "/";
      final long left = Files.readAllLines(Paths.get("/proc/self/maps")).stream().filter(l -> l.contains(d)).count();
      if (left > 0) die("close() left %d mappings of %s (the cleaner did not unmap)", left, d);
      ++closesChecked;
    } catch (IOException e) {
      // no /proc: nothing to check
    }
  }

  static Store open(Path dir, int size, boolean perBatch) {
    try {
      return new Store(dir, size, perBatch);
    } catch (RuntimeException | LinkageError e) {
      die("chronicle open in %s: %s", dir, e);
      return null;
    }
  }

  // A throwaway store for the JIT warm-up, removed by close().
  static final class Scratch implements AutoCloseable {
    final Store store;

    Scratch(int size, boolean perBatch) { store = open(fresh(SYSTEM + "-jitwarmup"), size, perBatch); }

    @Override
    public void close() {
      store.close();
      removeTree(store.dir);
    }
  }

  // --- output (driver.hpp's reporter) ----------------------------------------------------

  // C's printf("%.6g") (and fmt's "{:.6g}"): 6 significant digits, trailing
  // zeros dropped, exponent form below 1e-4 and from 1e6.
  static String g6(double v) {
    if (Double.isNaN(v)) return "nan";
    if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return (1 / v < 0) ? "-0" : "0";
    final BigDecimal bd = new BigDecimal(v).round(new MathContext(6, RoundingMode.HALF_EVEN));
    final int x = bd.precision() - bd.scale() - 1;
    if (x < -4 || x >= 6) {
      final String m = stripZeros(bd.movePointLeft(x).setScale(5, RoundingMode.UNNECESSARY).toPlainString());
      return m + "e" + (x < 0 ? "-" : "+") + (Math.abs(x) < 10 ? "0" : "") + Math.abs(x);
    }
    return stripZeros(bd.setScale(Math.max(0, 5 - x), RoundingMode.UNNECESSARY).toPlainString());
  }

  static String stripZeros(String s) {
    if (s.indexOf('.') < 0) return s;
    int e = s.length();
    while (s.charAt(e - 1) == '0') --e;
    if (s.charAt(e - 1) == '.') --e;
    return s.substring(0, e);
  }

  static double median(List<Double> in) {
    if (in.isEmpty()) return 0;
    double[] v = in.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    int m = v.length / 2;
    return v.length % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
  }

  // Nearest-rank percentile of sorted samples.
  static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) return 0;
    final long n = sorted.length;
    final long rank = Math.max(1, (long) Math.ceil(q * (double) n));
    return (double) sorted[(int) (Math.min(rank, n) - 1)];
  }

  static final class Figure {
    String workload;
    boolean perBatch;
    long records;
    int recordBytes, batchRecords;

    Figure(String w, boolean perBatch, long n, int size, int batch) {
      workload = w;
      this.perBatch = perBatch;
      records = n;
      recordBytes = size;
      batchRecords = batch;
    }
  }

  static String javaName() { return "OpenJDK " + System.getProperty("java.version"); }

  static String chronicleVersion() {
    try {
      String jar = ChronicleQueueBuilder.class.getProtectionDomain().getCodeSource().getLocation().getPath();
      try (JarFile j = new JarFile(jar)) {
        String v = j.getManifest().getMainAttributes().getValue("Bundle-Version");
        if (v != null) return v;
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return "3.x";
  }

  static String settingsCache;

  static String settings(boolean perBatch) {
    if (settingsCache == null) settingsCache = "IndexedChronicle " + chronicleVersion() + " on " + javaName();
    final String common =
        settingsCache + ", 128 MiB data blocks, tailer reads in place, JIT warmed by an untimed run";
    if (!perBatch) return common + "; synchronous(false): no force, the kernel writes the mapped blocks back";
    return common + "; synchronous(false) + nextSynchronous(true) on each batch's last record: its finish() forces "
        + "(MappedByteBuffer.force = msync) the current data and index blocks"
        + (DATA_BUFFER == null ? "; also fdatasync of both files after every batch"
                               : "; fdatasync of both files if a batch crossed into a new block");
  }

  static void header() {
    if (smoke) return;
    OUT.print("system,workload,durability,settings,records,record_bytes,batch_records,partitions,metric,value,"
        + "unit,runs\n");
    OUT.flush();
  }

  static void row(Figure f, String metric, double value, String unit, List<Double> runs) {
    if (smoke) return;
    StringBuilder list = new StringBuilder();
    for (double r : runs) list.append(list.length() == 0 ? "" : ";").append(g6(r));
    final String settings = settings(f.perBatch).replace('"', '\'');
    OUT.print(SYSTEM + "," + f.workload + "," + (f.perBatch ? "fsync per batch" : "none") + ",\"" + settings + "\","
        + Long.toUnsignedString(f.records) + "," + f.recordBytes + "," + f.batchRecords + ",1," + metric + ","
        + g6(value) + "," + unit + "," + list + "\n");
    OUT.flush();
  }

  // The median rate over runs (wall seconds), in records/s and MB/s.
  static void rates(Figure f, List<Double> walls) {
    List<Double> rps = new ArrayList<>(), mbs = new ArrayList<>();
    for (double w : walls) rps.add((double) f.records / w);
    row(f, "rate", median(rps), "rec/s", rps);
    for (double r : rps) mbs.add(r * (double) f.recordBytes / 1e6);
    row(f, "throughput", median(mbs), "MB/s", mbs);
  }

  // Percentiles per run, medians reported; the CDF of the run with the
  // median p99 to --cdf-dir.
  static void latencies(Figure f, List<long[]> runs) {
    List<Double> p50 = new ArrayList<>(), p99 = new ArrayList<>(), p999 = new ArrayList<>(), mx = new ArrayList<>();
    for (long[] s : runs) {
      Arrays.sort(s);
      p50.add(percentile(s, 0.50));
      p99.add(percentile(s, 0.99));
      p999.add(percentile(s, 0.999));
      mx.add(s.length == 0 ? 0.0 : (double) s[s.length - 1]);
    }
    row(f, "p50", median(p50), "ns", p50);
    row(f, "p99", median(p99), "ns", p99);
    row(f, "p99.9", median(p999), "ns", p999);
    row(f, "max", median(mx), "ns", mx);
    if (cdfDir.isEmpty() || runs.isEmpty()) return;
    final double m = median(p99);
    int pick = 0;
    for (int i = 0; i < runs.size(); ++i)
      if (p99.get(i) == m || Math.abs(p99.get(i) - m) < Math.abs(p99.get(pick) - m)) pick = i;
    final long[] s = runs.get(pick);
    final Path path = Paths.get(cdfDir, "cdf-" + SYSTEM + "-" + f.workload + ".dat");
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "# %s %s: latency_ns fraction (%d samples)\n", SYSTEM, f.workload, s.length));
    for (int i = 0; i < 1000; ++i) {
      final double q = i / 1000.0;
      b.append(String.format(Locale.ROOT, "%.1f %.6f\n", percentile(s, q), q));
    }
    for (double q : new double[] {0.999, 0.9995, 0.9999, 0.99995, 0.99999, 1.0})
      b.append(String.format(Locale.ROOT, "%.1f %.6f\n", percentile(s, q), q));
    try {
      Files.writeString(path, b.toString());
    } catch (IOException e) {
      die("cannot write %s: %s", path, e);
    }
  }

  // --- workloads (driver.hpp's runner) ---------------------------------------------------

  static int checked = 0;

  // Appends n records in batches of rm.batch: the batch's sequence numbers
  // go into the batch buffer, then each record is one excerpt; with
  // perBatch, nextSynchronous(true) on the batch's last record (and
  // batchDone) make the batch durable before the next starts. Both loops sit
  // in this one method, called once per run: HotSpot compiles a method that
  // is called once per batch only after hundreds of calls and runs its
  // record loop in the interpreter until then (a 100k-record produce ran at
  // a fifth of its speed that way); a loop here goes to compiled code
  // (on-stack replacement) within about a thousand iterations of each run.
  static double write(Store s, RecordMaker rm, long n) {
    final int b = rm.batch, size = rm.size;
    final byte[] recs = rm.buf;
    final ExcerptAppender a = s.appender;
    final boolean sync = s.perBatch;
    final long t0 = System.nanoTime();
    for (long first = 0; first < n; first += b) {
      final int count = (int) Math.min(b, n - first);
      for (int k = 0; k < count; ++k) LONG_LE.set(recs, k * size, first + k);
      final Object data0 = sync ? s.dataBlock() : null, index0 = sync ? s.indexBlock() : null;
      for (int k = 0; k < count; ++k) {
        a.startExcerpt(size);
        a.write(recs, k * size, size);
        if (sync && k == count - 1) a.nextSynchronous(true);  // after startExcerpt, which resets it
        a.finish();
      }
      if (sync) s.batchDone(data0, index0);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  static void checkRead(Sink k, RecordMaker rm, long n, String what) {
    if (k.count != n) die("%s: read back %d records of the %d written", what, k.count, n);
    if (k.sum != rm.expectedSum(n)) die("%s: the records read back differ from those written (byte sum)", what);
  }

  static void produceConsume(int size, long n, int batch, String wname, String rname, boolean consume) {
    final RecordMaker rm = new RecordMaker(size, batch);
    if (!smoke) {
      final long w = Math.max(1, Math.min(n, Math.min(200_000, (64L << 20) / size)));
      progress("%s JIT warm-up: %s + %s of %d x %d B, untimed", SYSTEM, wname, rname, w, size);
      try (Scratch sc = new Scratch(size, false)) {
        write(sc.store, rm, w);
        for (int i = 0; i < 2; ++i) {
          Sink k = new Sink(SUM, rm, 0);
          sc.store.readAll(k);
          checkRead(k, rm, w, rname + " (JIT warm-up)");
        }
      }
    }
    final List<Double> runs = new ArrayList<>();
    Store last = null;
    final int nreps = smoke ? 1 : reps;
    for (int rep = 0; rep < nreps; ++rep) {
      if (last != null) last.close();
      progress("%s %s run %d/%d (%d x %d B)", SYSTEM, wname, rep + 1, nreps, n, size);
      prewarm(n * size + (64L << 20));
      last = open(fresh(SYSTEM), size, false);
      runs.add(write(last, rm, n));
    }
    final Figure f = new Figure(wname, false, n, size, batch);
    rates(f, runs);
    if (consume) {
      if (smoke) {
        Sink k = new Sink(VERIFY, rm, n);
        last.readAll(k);
        checkRead(k, rm, n, rname);
        ++checked;
      } else {
        final List<Double> reads = new ArrayList<>();
        for (int rep = 0; rep <= reps; ++rep) {  // rep 0: the untimed warm-up pass
          Sink k = new Sink(SUM, rm, 0);
          final long t0 = System.nanoTime();
          last.readAll(k);
          final double t = (System.nanoTime() - t0) / 1e9;
          checkRead(k, rm, n, rname);
          if (rep > 0) reads.add(t);
        }
        f.workload = rname;
        rates(f, reads);
      }
    }
    last.close();
  }

  static void produceFsync() {
    final RecordMaker rm = new RecordMaker(recordBytes, batchRecords);
    if (!smoke) {
      final long w = Math.min(records, 20L * batchRecords);
      progress("%s JIT warm-up: produce_fsync of %d x %d B, untimed", SYSTEM, w, recordBytes);
      try (Scratch sc = new Scratch(recordBytes, true)) {
        write(sc.store, rm, w);
      }
    }
    crossings = 0;
    final List<Double> runs = new ArrayList<>();
    final int nreps = smoke ? 1 : reps;
    for (int rep = 0; rep < nreps; ++rep) {
      progress("%s produce_fsync run %d/%d", SYSTEM, rep + 1, nreps);
      prewarm(records * recordBytes + (64L << 20));
      final Store s = open(fresh(SYSTEM), recordBytes, true);
      runs.add(write(s, rm, records));
      if (smoke) {
        Sink k = new Sink(VERIFY, rm, records);
        s.readAll(k);
        checkRead(k, rm, records, "produce_fsync");
        ++checked;
      }
      s.close();
    }
    if (crossings > 0)
      progress("%s produce_fsync: %d batches crossed into a new block and also got fdatasync of both files", SYSTEM,
               crossings);
    rates(new Figure("produce_fsync", true, records, recordBytes, batchRecords), runs);
  }

  // n single appends, each timed; latencies (ns, timer cost subtracted) to out.
  static void timedAppends(Store s, RecordMaker rm, long n, long[] out, double overheadNs) {
    final byte[] buf = rm.buf;
    for (long i = 0; i < n; ++i) {
      final int off = rm.one(i);
      final long a = System.nanoTime();
      s.appendOne(buf, off);
      final long b = System.nanoTime();
      final double d = (double) (b - a) - overheadNs;
      out[(int) i] = d > 0 ? (long) (d + 0.5) : 0;
    }
  }

  // The median cost of one timed empty call: two back-to-back System.nanoTime().
  static double timerOverhead() {
    long[] pair = new long[100_000];
    for (int rep = 0; rep < 3; ++rep)  // the first passes warm the loop up
      for (int i = 0; i < pair.length; ++i) {
        final long a = System.nanoTime();
        final long b = System.nanoTime();
        pair[i] = b - a;
      }
    Arrays.sort(pair);
    return (double) pair[pair.length / 2];
  }

  static void appendLatency() {
    if (records > Integer.MAX_VALUE - 16) die("append_latency: --records too large for one sample array");
    final RecordMaker rm = new RecordMaker(recordBytes, batchRecords);
    if (!smoke) {
      final long w = Math.min(records, 200_000);
      progress("%s JIT warm-up: append_latency of %d x %d B, untimed", SYSTEM, w, recordBytes);
      try (Scratch sc = new Scratch(recordBytes, false)) {
        timedAppends(sc.store, rm, w, new long[(int) w], 0);
      }
    }
    final double overhead = timerOverhead();
    progress("%s append_latency: System.nanoTime pair costs %.0f ns (subtracted)", SYSTEM, overhead);
    final List<long[]> runs = new ArrayList<>();
    final int nreps = smoke ? 1 : reps;
    for (int rep = 0; rep < nreps; ++rep) {
      progress("%s append_latency run %d/%d", SYSTEM, rep + 1, nreps);
      prewarm(records * recordBytes * 2 + (64L << 20));
      final Store s = open(fresh(SYSTEM), recordBytes, false);
      final long[] ns = new long[(int) records];
      timedAppends(s, rm, records, ns, overhead);
      if (smoke) {
        Sink k = new Sink(VERIFY, rm, records);
        s.readAll(k);
        checkRead(k, rm, records, "append_latency");
        ++checked;
      }
      s.close();
      runs.add(ns);
    }
    latencies(new Figure("append_latency", false, records, recordBytes, 1), runs);
  }

  // A producer (this thread) sends total records, one every U[5,20] us
  // (paced), carrying its System.nanoTime send time in bytes 8..16 unless
  // verifying; a consumer thread spins on nextIndex() and hands each record
  // to k. Returns when the consumer has them all.
  static void handoff(Store s, RecordMaker rm, long total, Sink k, boolean stampTime) {
    final AtomicBoolean ready = new AtomicBoolean(false);
    final Thread consumer = new Thread(() -> {
      try {
        final ExcerptTailer t = s.chronicle.createTailer();
        ready.set(true);
        int idle = 0;
        boolean waiting = false;
        long idleSince = 0;
        while (k.count < total) {
          if (t.nextIndex()) {
            k.accept(t, (int) t.limit());
            t.finish();
            idle = 0;
            waiting = false;
          } else {
            Thread.onSpinWait();
            if ((++idle & 0xFFF) == 0) {
              final long now = System.nanoTime();
              if (!waiting) {
                waiting = true;
                idleSince = now;
              } else if (now - idleSince > 10_000_000_000L) {
                die("e2e: the consumer stalled at %d of %d records (10 s without data)", k.count, total);
              }
            }
          }
        }
      } catch (Throwable e) {
        die("e2e consumer: %s", e);
      }
    }, "e2e-consumer");
    consumer.start();
    while (!ready.get()) Thread.onSpinWait();
    final long[] x = {0x2545F4914F6CDD1DL};
    final long span = PACE_MAX_NS - PACE_MIN_NS + 1;
    long next = System.nanoTime();
    for (long i = 0; i < total; ++i) {
      long now;
      while ((now = System.nanoTime()) - next < 0) Thread.onSpinWait();
      final int off = rm.one(i);
      if (stampTime) LONG_LE.set(rm.buf, off + 8, now);
      s.appendOne(rm.buf, off);
      next = now + PACE_MIN_NS + Long.remainderUnsigned(xorshift64s(x), span);
    }
    try {
      consumer.join();
    } catch (InterruptedException e) {
      die("e2e: interrupted");
    }
  }

  static void e2e() {
    final long warm = smoke ? 0 : E2E_WARMUP, total = warm + records;
    if (recordBytes < 16) die("e2e needs records of at least 16 bytes");
    if (total > Integer.MAX_VALUE - 16) die("e2e: --records too large for one sample array");
    final RecordMaker rm = new RecordMaker(recordBytes, batchRecords);
    if (!smoke) {
      final long w = Math.min(records, 50_000);
      progress("%s JIT warm-up: e2e of %d records, untimed", SYSTEM, w);
      try (Scratch sc = new Scratch(recordBytes, false)) {
        handoff(sc.store, new RecordMaker(recordBytes, batchRecords), w, new Sink(LATENCY, rm, w), true);
      }
    }
    progress("%s e2e (%d records, one per %d-%d us)", SYSTEM, total, PACE_MIN_NS / 1000, PACE_MAX_NS / 1000);
    final Store s = open(fresh(SYSTEM), recordBytes, false);
    final Sink k = new Sink(smoke ? VERIFY : LATENCY, rm, total);
    // A private record maker for the sender: latency mode overwrites bytes 8..16.
    handoff(s, new RecordMaker(recordBytes, batchRecords), total, k, !smoke);
    s.close();
    if (smoke) {
      if (k.count != total) die("e2e: %d of %d records received", k.count, total);
      ++checked;
      return;
    }
    final List<long[]> runs = new ArrayList<>();
    runs.add(Arrays.copyOfRange(k.latencies, (int) warm, (int) total));
    latencies(new Figure("e2e", false, records, recordBytes, 1), runs);
  }

  static int run() {
    header();
    if (wants("partitions")) note("partitions skipped: %s has no partitions", SYSTEM);
    if (wants("produce") || wants("consume"))
      produceConsume(recordBytes, records, batchRecords, "produce", "consume", wants("consume"));
    if (wants("produce_fsync")) produceFsync();
    if (wants("append_latency")) appendLatency();
    if (wants("e2e")) e2e();
    if (wants("size_sweep")) {
      for (long size : sizes) {
        final long n = Math.max(1, Math.min(records, sweepBytes / size));
        final int batch = (int) Math.max(1, Math.min((512L << 10) / size, batchRecords));
        produceConsume((int) size, n, batch, "size_produce", "size_consume", true);
      }
    }
    if (smoke) {
      if (closesChecked > 0)
        progress("%s: close() released every mapping (%d stores checked in /proc/self/maps)", SYSTEM, closesChecked);
      OUT.printf("%s: %d workloads read back exactly what they wrote\n", SYSTEM, checked);
      OUT.printf("%d passed, 0 failed\n", checked);
      OUT.flush();
    }
    return 0;
  }

  public static void main(String[] argv) {
    parseOptions(argv);
    checkByteSum();
    try {
      tmp = Files.createTempDirectory(Paths.get(tmpdir), "franz-peers-");
    } catch (IOException | RuntimeException e) {
      die("mkdtemp %s/franz-peers-XXXXXX: %s", tmpdir, e);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(ChronicleBench::cleanup));
    if (!cdfDir.isEmpty()) new File(cdfDir).mkdirs();
    int rc;
    try {
      rc = run();
    } catch (Throwable e) {
      e.printStackTrace();
      die("%s", e);
      rc = 1;
    }
    OUT.flush();
    cleanup();
    System.exit(rc);
  }
}
