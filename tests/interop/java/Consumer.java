import com.rabbitmq.client.CancelCallback;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DeliverCallback;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * @Author 小川
 *
 * The tutorial's consumer (section 6.3), copied as it is but for where the
 * broker is and who we are (AMQP_HOST, AMQP_PORT, AMQP_USER, AMQP_PASSWORD;
 * the user defaults to the tutorial's admin/123456) and a latch, so that it
 * exits after its first message (status 0) or after CONSUMER_WAIT_SECONDS
 * without one (status 1) instead of consuming forever.
 */
public class Consumer {

    //队列名
    private static final String QUEUE_NAME = "hello-queue";

    public static void main(String[] args) throws Exception {

        //创建一个连接工厂
        ConnectionFactory factory = new ConnectionFactory();
        //服务地址
        factory.setHost(System.getenv().getOrDefault("AMQP_HOST", "127.0.0.1"));
        //账号
        factory.setUsername(System.getenv().getOrDefault("AMQP_USER", "admin"));
        //密码
        factory.setPassword(System.getenv().getOrDefault("AMQP_PASSWORD", "123456"));
        //端口号
        factory.setPort(Integer.parseInt(System.getenv().getOrDefault("AMQP_PORT", "5672")));
        //创建连接
        Connection connection = factory.newConnection();
        //创建信道
        Channel channel = connection.createChannel();
        // Added: counted down by the first delivery.
        CountDownLatch received = new CountDownLatch(1);

        //接受消息回调
        DeliverCallback deliverCallback = (consumerTag, message)-> {
            System.out.println(new String(message.getBody()));
            received.countDown();
        };

        //取消消息回调
        CancelCallback cancelCallback = consumerTag ->{
            System.out.println("消费消息被中断");
        };

        /**
         * 消费消息
         * 1.消费哪个队列
         * 2.消费成功之后是否要自动应答，ture:自动应答
         * 3.消费者未成功消费的回调
         * 4.消费者取消消费的回调
         */
        channel.basicConsume(QUEUE_NAME, true, deliverCallback, cancelCallback);

        // Added: end after the first message, or fail after a bounded wait.
        long waitSeconds = Long.parseLong(System.getenv().getOrDefault("CONSUMER_WAIT_SECONDS", "30"));
        boolean got = received.await(waitSeconds, TimeUnit.SECONDS);
        connection.close();
        System.exit(got ? 0 : 1);
    }
}
