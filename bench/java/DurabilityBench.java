import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BlockedListener;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.MessageProperties;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Load for bench/durability.sh and bench/memory_paging.sh, against Warren or
 * RabbitMQ alike. Persistent messages carry their sequence number in the
 * first 8 bytes.
 *
 *   publish PORT QUEUE PUBLISHERS SECONDS BODY  confirmed msgs/s, window 256 each;
 *                                               the queue is deleted afterwards
 *   fill PORT QUEUE COUNT BODY                  COUNT confirmed messages, one publisher
 *   drain PORT QUEUE COUNT                      one consumer takes COUNT, checking their order
 */
public final class DurabilityBench {
  static final int WINDOW = 256;
  static final int STALL_SECONDS = 60;
  /** Confirms and deliveries so far, for the watchdog. */
  static final AtomicLong progress = new AtomicLong();
  static final AtomicReference<String> blocked = new AtomicReference<>();

  /**
   * Ends the program (status 2) when neither a confirm nor a delivery came
   * for STALL_SECONDS: a publisher on a blocked connection would otherwise
   * wait in a socket write for ever.
   */
  static void startWatchdog() {
    Thread t = new Thread(() -> {
      long last = -1;
      while (true) {
        long now = progress.get();
        if (now == last) {
          System.err.println("stalled: no confirm or delivery for " + STALL_SECONDS + " s after "
                             + now + (blocked.get() != null
                                      ? "; connection.blocked: " + blocked.get() : ""));
          Runtime.getRuntime().halt(2);
        }
        last = now;
        try {
          Thread.sleep(STALL_SECONDS * 1000L);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    t.setDaemon(true);
    t.start();
  }

  public static void main(String[] args) throws Exception {
    startWatchdog();
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(Integer.parseInt(args[1]));
    String queue = args[2];
    try (Connection c = f.newConnection(); Channel ch = c.createChannel()) {
      ch.queueDeclare(queue, true, false, false, null);
    }
    switch (args[0]) {
      case "publish": publish(f, queue, Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                              Integer.parseInt(args[5])); break;
      case "fill": fill(f, queue, Long.parseLong(args[3]), Integer.parseInt(args[4])); break;
      case "drain": drain(f, queue, Long.parseLong(args[3])); break;
      default: throw new IllegalArgumentException(args[0]);
    }
  }

  /** Publishes with a window of unconfirmed messages until `more` says stop. */
  interface More { boolean next(long seq); }

  static long confirmedPublish(ConnectionFactory f, String queue, int bodySize, More more)
      throws Exception {
    AtomicLong confirmed = new AtomicLong();
    try (Connection c = f.newConnection(); Channel ch = c.createChannel()) {
      c.addBlockedListener(new BlockedListener() {
        public void handleBlocked(String reason) { blocked.set(reason); }
        public void handleUnblocked() { blocked.set(null); }
      });
      ch.confirmSelect();
      Semaphore window = new Semaphore(WINDOW);
      ConcurrentSkipListSet<Long> outstanding = new ConcurrentSkipListSet<>();
      ch.addConfirmListener(new ConfirmListener() {
        public void handleAck(long tag, boolean multiple) { settle(tag, multiple); }
        public void handleNack(long tag, boolean multiple) { settle(tag, multiple); }
        private void settle(long tag, boolean multiple) {
          int n;
          if (multiple) {
            var head = outstanding.headSet(tag, true);
            n = head.size();
            head.clear();
          } else {
            n = outstanding.remove(tag) ? 1 : 0;
          }
          confirmed.addAndGet(n);
          progress.addAndGet(n);
          window.release(n);
        }
      });
      AMQP.BasicProperties props = MessageProperties.PERSISTENT_BASIC;
      byte[] body = new byte[bodySize];
      for (long seq = 0; more.next(seq); ++seq) {
        ByteBuffer.wrap(body).putLong(seq);
        window.acquire();
        outstanding.add(ch.getNextPublishSeqNo());
        ch.basicPublish("", queue, props, body);
      }
      ch.waitForConfirmsOrDie(120_000);
    }
    return confirmed.get();
  }

  static void publish(ConnectionFactory f, String queue, int publishers, int seconds, int body)
      throws Exception {
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    AtomicLong total = new AtomicLong();
    AtomicReference<Exception> failure = new AtomicReference<>();
    Thread[] threads = new Thread[publishers];
    long start = System.nanoTime();
    for (int i = 0; i < publishers; ++i) {
      threads[i] = new Thread(() -> {
        try {
          total.addAndGet(confirmedPublish(f, queue, body, seq -> System.nanoTime() < end));
        } catch (Exception e) {
          failure.compareAndSet(null, e);
        }
      });
      threads[i].start();
    }
    for (Thread t : threads) t.join();
    if (failure.get() != null) throw failure.get();
    double elapsed = (System.nanoTime() - start) / 1e9;
    System.out.printf("%.0f%n", total.get() / elapsed);
    // What this run queued goes, so the next run starts from the same state.
    try (Connection c = f.newConnection(); Channel ch = c.createChannel()) {
      ch.queueDelete(queue);
    }
  }

  static void fill(ConnectionFactory f, String queue, long count, int body) throws Exception {
    long start = System.nanoTime();
    long n = confirmedPublish(f, queue, body, seq -> seq < count);
    double elapsed = (System.nanoTime() - start) / 1e9;
    System.out.printf("%d %.2f %.0f%n", n, elapsed, n / elapsed);
  }

  /**
   * One consumer (prefetch 1000, acks every 500 with multiple) takes COUNT
   * messages and checks that they come in order.
   */
  static void drain(ConnectionFactory f, String queue, long count) throws Exception {
    long start = System.nanoTime();
    CompletableFuture<Void> done = new CompletableFuture<>();
    try (Connection c = f.newConnection(); Channel ch = c.createChannel()) {
      ch.basicQos(1000);
      ch.basicConsume(queue, false, new DefaultConsumer(ch) {
        long expected = 0;

        @Override
        public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props,
                                   byte[] body) throws IOException {
          long seq = ByteBuffer.wrap(body).getLong();
          if (seq != expected) {
            done.completeExceptionally(
                new IllegalStateException("got " + seq + ", expected " + expected));
            return;
          }
          ++expected;
          progress.incrementAndGet();
          if (expected == count) {
            ch.basicAck(env.getDeliveryTag(), true);
            done.complete(null);
          } else if (expected % 500 == 0) {
            ch.basicAck(env.getDeliveryTag(), true);
          }
        }
      });
      done.get();
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    System.out.printf("%d %.2f %.0f%n", count, elapsed, count / elapsed);
  }
}
