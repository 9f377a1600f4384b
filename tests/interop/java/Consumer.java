import com.rabbitmq.client.CancelCallback;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DeliverCallback;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The tutorial's consumer (section 6.3), unchanged but for where the broker
 * is (AMQP_HOST / AMQP_PORT) and a latch so the test ends after the first
 * message instead of consuming forever.
 */
public class Consumer {

    // queue name
    private static final String QUEUE_NAME = "hello-queue";

    public static void main(String[] args) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(System.getenv().getOrDefault("AMQP_HOST", "127.0.0.1"));
        factory.setUsername("admin");
        factory.setPassword("123456");
        factory.setPort(Integer.parseInt(System.getenv().getOrDefault("AMQP_PORT", "5672")));
        Connection connection = factory.newConnection();
        Channel channel = connection.createChannel();
        CountDownLatch received = new CountDownLatch(1);

        // message callback
        DeliverCallback deliverCallback = (consumerTag, message) -> {
            System.out.println(new String(message.getBody()));
            received.countDown();
        };

        // cancel callback
        CancelCallback cancelCallback = consumerTag -> {
            System.out.println("消费消息被中断");
        };

        // consume with automatic acknowledgement
        channel.basicConsume(QUEUE_NAME, true, deliverCallback, cancelCallback);

        boolean got = received.await(30, TimeUnit.SECONDS);
        connection.close();
        System.exit(got ? 0 : 1);
    }
}
