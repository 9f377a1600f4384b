import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load for bench/balancer.sh: the same AMQP traffic straight to a node or
 * through a balancer in front of it. Transient messages, non-durable queues.
 *
 *   throughput PORT PAIRS SECONDS BODY  PAIRS publisher connections, each with a
 *                                       consumer connection on its own queue; a
 *                                       publisher keeps at most 512 messages not yet
 *                                       consumed; prints consumed msgs/s
 *   latency PORT COUNT BODY             one connection, COUNT publish -> consume round
 *                                       trips one after another; prints "P50_US P99_US"
 */
public final class BalancerBench {
  static final int WINDOW = 512;

  static Connection connect(int port) throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(port);
    f.setRequestedHeartbeat(0);
    return f.newConnection();
  }

  static String declare(Channel ch) throws IOException {
    return ch.queueDeclare("", false, false, true, null).getQueue();  // consumed from another connection: not exclusive
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[1]);
    switch (args[0]) {
      case "throughput" -> System.out.println(throughput(port, Integer.parseInt(args[2]),
          Integer.parseInt(args[3]), Integer.parseInt(args[4])));
      case "latency" -> System.out.println(latency(port, Integer.parseInt(args[2]),
          Integer.parseInt(args[3])));
      default -> throw new IllegalArgumentException("throughput | latency");
    }
    System.exit(0);
  }

  static long throughput(int port, int pairs, int seconds, int size) throws Exception {
    AtomicLong consumed = new AtomicLong();
    List<Thread> publishers = new ArrayList<>();
    List<Connection> connections = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    byte[] body = new byte[size];
    CountDownLatch ready = new CountDownLatch(pairs);
    for (int i = 0; i < pairs; i++) {
      Connection pc = connect(port), cc = connect(port);
      connections.add(pc);
      connections.add(cc);
      Channel pch = pc.createChannel(), cch = cc.createChannel();
      String queue = declare(pch);
      Semaphore window = new Semaphore(WINDOW);
      cch.basicQos(WINDOW);
      cch.basicConsume(queue, true, new DefaultConsumer(cch) {
        @Override
        public void handleDelivery(String tag, Envelope e, AMQP.BasicProperties p, byte[] b) {
          consumed.incrementAndGet();
          window.release();
        }
      });
      Thread t = new Thread(() -> {
        try {
          ready.countDown();
          ready.await();
          while (System.nanoTime() < deadline) {
            if (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) continue;
            pch.basicPublish("", queue, null, body);
          }
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      publishers.add(t);
    }
    long start = System.nanoTime();
    long startCount = consumed.get();
    for (Thread t : publishers) t.start();
    for (Thread t : publishers) t.join();
    double elapsed = (System.nanoTime() - start) / 1e9;
    long total = consumed.get() - startCount;
    for (Connection c : connections) c.abort();
    return Math.round(total / elapsed);
  }

  static String latency(int port, int count, int size) throws Exception {
    Connection c = connect(port);
    Channel ch = c.createChannel();
    String queue = declare(ch);
    SynchronousQueue<Long> arrivals = new SynchronousQueue<>();
    ch.basicConsume(queue, true, new DefaultConsumer(ch) {
      @Override
      public void handleDelivery(String tag, Envelope e, AMQP.BasicProperties p, byte[] b) {
        long sent = ByteBuffer.wrap(b).getLong();
        try {
          arrivals.put(System.nanoTime() - sent);
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
        }
      }
    });
    Channel pub = c.createChannel();
    byte[] body = new byte[Math.max(8, size)];
    int warmup = Math.min(200, count / 5);
    long[] rtt = new long[count];
    for (int i = 0; i < warmup + count; i++) {
      ByteBuffer.wrap(body).putLong(System.nanoTime());
      pub.basicPublish("", queue, null, body);
      long ns = arrivals.take();
      if (i >= warmup) rtt[i - warmup] = ns;
    }
    c.abort();
    Arrays.sort(rtt);
    return (rtt[count / 2] / 1000) + " " + (rtt[(int) (count * 0.99)] / 1000);
  }
}
