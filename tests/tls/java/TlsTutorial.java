// The tutorial's Producer and Consumer (section 6) over AMQPS: the same
// exchange, queue, binding and message, with the connection factory given an
// SSLContext that trusts the test CA. With a client keystore (PKCS12) the
// certificate is presented and, with EXTERNAL, it is the login.
//
// Environment: AMQP_HOST, AMQPS_PORT, TLS_CA_FILE; AMQP_USER, AMQP_PASSWORD
// (PLAIN) or TLS_CLIENT_P12 + TLS_CLIENT_P12_PASSWORD (EXTERNAL).
// Prints "sent" then the message it consumed.
import com.rabbitmq.client.*;

import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class TlsTutorial {
    private static final String EXCHANGE_NAME = "hello-exchange";
    private static final String QUEUE_NAME = "hello-queue";

    static SSLContext sslContext() throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate ca;
        try (FileInputStream in = new FileInputStream(System.getenv("TLS_CA_FILE"))) {
            ca = (X509Certificate) cf.generateCertificate(in);
        }
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("warren-test-ca", ca);
        TrustManagerFactory tmf =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManager[] keys = null;
        String p12 = System.getenv("TLS_CLIENT_P12");
        if (p12 != null) {
            char[] password = System.getenv("TLS_CLIENT_P12_PASSWORD").toCharArray();
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (FileInputStream in = new FileInputStream(p12)) {
                ks.load(in, password);
            }
            KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            keys = kmf.getKeyManagers();
        }
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keys, tmf.getTrustManagers(), null);
        return context;
    }

    public static void main(String[] args) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(System.getenv("AMQP_HOST"));
        factory.setPort(Integer.parseInt(System.getenv("AMQPS_PORT")));
        factory.useSslProtocol(sslContext());
        if (System.getenv("TLS_CLIENT_P12") != null) {
            factory.setSaslConfig(DefaultSaslConfig.EXTERNAL);
        } else {
            factory.setUsername(System.getenv("AMQP_USER"));
            factory.setPassword(System.getenv("AMQP_PASSWORD"));
        }
        Connection connection = factory.newConnection();
        Channel channel = connection.createChannel();
        channel.exchangeDeclare(EXCHANGE_NAME, "direct", false, true, null);
        channel.queueDeclare(QUEUE_NAME, false, false, false, null);
        channel.queueBind(QUEUE_NAME, EXCHANGE_NAME, QUEUE_NAME);
        channel.basicPublish(EXCHANGE_NAME, QUEUE_NAME, null,
                             "hello world".getBytes(StandardCharsets.UTF_8));
        System.out.println("sent");

        BlockingQueue<String> got = new ArrayBlockingQueue<>(1);
        channel.basicConsume(QUEUE_NAME, true, new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope,
                                       AMQP.BasicProperties properties, byte[] body) {
                got.offer(new String(body, StandardCharsets.UTF_8));
            }
        });
        String message = got.poll(30, TimeUnit.SECONDS);
        System.out.println(message);
        connection.close();
        System.exit(message == null ? 1 : 0);
    }
}
