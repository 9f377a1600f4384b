import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;

/**
 * The tutorial's producer (section 6.2), unchanged but for where the broker
 * is: host and port come from AMQP_HOST / AMQP_PORT.
 */
public class Producer {

    // queue name
    private static final String QUEUE_NAME = "hello-queue";
    // exchange
    private static final String EXCHANGE_NAME = "hello-exchange";

    public static void main(String[] args) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(System.getenv().getOrDefault("AMQP_HOST", "127.0.0.1"));
        factory.setUsername("admin");
        factory.setPassword("123456");
        factory.setPort(Integer.parseInt(System.getenv().getOrDefault("AMQP_PORT", "5672")));
        Connection connection = factory.newConnection();
        Channel channel = connection.createChannel();

        // direct exchange, non-durable, auto-delete, no arguments
        channel.exchangeDeclare(EXCHANGE_NAME, BuiltinExchangeType.DIRECT, false, true, null);

        // queue: non-durable, not exclusive, not auto-delete
        channel.queueDeclare(QUEUE_NAME, false, false, false, null);

        // routing key = queue name, as the tutorial binds it
        channel.queueBind(QUEUE_NAME, EXCHANGE_NAME, QUEUE_NAME);

        String message = "hello world";
        channel.basicPublish(EXCHANGE_NAME, QUEUE_NAME, null, message.getBytes());
        System.out.println("消息发送成功");
        // The tutorial leaves the connection to the JVM's exit; closing it
        // here makes the publish reach the broker before the process ends.
        connection.close();
    }
}
