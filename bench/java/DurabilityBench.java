import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load for bench/durability.sh and bench/memory_paging.sh, against Warren or
 * RabbitMQ alike. Persistent messages carry their sequence number in the
 * first 8 bytes.
 *
 *   publish PORT QUEUE PUBLISHERS SECONDS BODY  confirmed msgs/s, window 256 each;
 *                                               the queue is deleted afterwards
 *   fill PORT QUEUE COUNT BODY                  COUNT confirmed messages, one publisher
 *   drain PORT QUEUE COUNT                      consumes COUNT, checking their order
 */
public final class DurabilityBench {
  static final int WINDOW = 256;

  public static void main(String[] args) throws Exception {
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
    Thread[] threads = new Thread[publishers];
    long start = System.nanoTime();
    for (int i = 0; i < publishers; ++i) {
      threads[i] = new Thread(() -> {
        try {
          total.addAndGet(confirmedPublish(f, queue, body, seq -> System.nanoTime() < end));
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      threads[i].start();
    }
    for (Thread t : threads) t.join();
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

  static void drain(ConnectionFactory f, String queue, long count) throws Exception {
    long start = System.nanoTime();
    try (Connection c = f.newConnection(); Channel ch = c.createChannel()) {
      for (long expected = 0; expected < count; ++expected) {
        GetResponse r = ch.basicGet(queue, true);
        if (r == null) throw new IllegalStateException("queue empty at " + expected);
        long seq = ByteBuffer.wrap(r.getBody()).getLong();
        if (seq != expected) throw new IllegalStateException("got " + seq + ", expected " + expected);
      }
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    System.out.printf("%d %.2f %.0f%n", count, elapsed, count / elapsed);
  }
}
