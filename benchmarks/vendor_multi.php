<?php
// The record lookup of the vendor's PHP sample (seed 003), run the way a C client
// would run many of them: curl_multi with $concurrency easy handles in flight, each
// handle reused for the next lookup as soon as its answer is in (libcurl keeps the
// connection alive). Signing, headers and body are built per call exactly as in the
// sample; the answer is checked to carry the requested orderId. The reference of
// what libcurl itself reaches on this machine, not something a PHP user would write.
//
//     php benchmarks/vendor_multi.php http://127.0.0.1:8765/otp/verification/orderId/record 10000 50

$target = $argv[1];
$calls = (int)$argv[2];
$concurrency = isset($argv[3]) ? (int)$argv[3] : 50;

$apiKey = "bDqJFiq9";
$apiSecret = "7bz1lzh9";
$appId = "ad454212";

function prepare($ch, $target, $apiKey, $apiSecret, $appId, $orderId) {
    $timeStamp = time();
    $sign = md5($apiKey.$apiSecret.$timeStamp);
    $dataArr = array('appId' => $appId, 'orderId' => $orderId);
    $data = json_encode($dataArr);
    $headers = array('Content-Type:application/json;charset=UTF-8',"Sign:$sign","Timestamp:$timeStamp","Api-Key:$apiKey");
    curl_setopt($ch, CURLOPT_URL, $target);
    curl_setopt($ch, CURLOPT_POST, 1);
    curl_setopt($ch, CURLOPT_CONNECTTIMEOUT, 600);
    curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
    curl_setopt($ch, CURLOPT_POSTFIELDS, $data);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, 1);
}

$mh = curl_multi_init();
curl_multi_setopt($mh, CURLMOPT_MAXCONNECTS, $concurrency);
$next = 0;
$received = 0;
$errors = 0;
$latencies = array();
$asked = array();   // spl_object_id(handle) => [orderId, start time]
$usage0 = getrusage();
$started = microtime(true);

for ($i = 0; $i < $concurrency && $next < $calls; $i++) {
    $ch = curl_init();
    $orderId = (string)$next++;
    prepare($ch, $target, $apiKey, $apiSecret, $appId, $orderId);
    $asked[spl_object_id($ch)] = array($orderId, microtime(true));
    curl_multi_add_handle($mh, $ch);
}

$done = 0;
while ($done < $calls) {
    curl_multi_exec($mh, $running);
    while ($info = curl_multi_info_read($mh)) {
        $ch = $info['handle'];
        list($orderId, $t0) = $asked[spl_object_id($ch)];
        $output = curl_multi_getcontent($ch);
        $decoded = is_string($output) ? json_decode($output, true) : null;
        if ($info['result'] === CURLE_OK && is_array($decoded) && isset($decoded['data']['orderId'])
                && $decoded['data']['orderId'] === $orderId) {
            $received++;
        } else {
            $errors++;
        }
        $latencies[] = microtime(true) - $t0;
        $done++;
        curl_multi_remove_handle($mh, $ch);
        if ($next < $calls) {
            $orderId = (string)$next++;
            prepare($ch, $target, $apiKey, $apiSecret, $appId, $orderId);
            $asked[spl_object_id($ch)] = array($orderId, microtime(true));
            curl_multi_add_handle($mh, $ch);
        } else {
            curl_close($ch);
        }
    }
    if ($done < $calls && $running) {
        curl_multi_select($mh, 1.0);
    }
}

$elapsed = microtime(true) - $started;
$usage = getrusage();
$cpu = ($usage['ru_utime.tv_sec'] - $usage0['ru_utime.tv_sec'] + $usage['ru_stime.tv_sec'] - $usage0['ru_stime.tv_sec'])
     + ($usage['ru_utime.tv_usec'] - $usage0['ru_utime.tv_usec'] + $usage['ru_stime.tv_usec'] - $usage0['ru_stime.tv_usec']) / 1e6;
curl_multi_close($mh);
sort($latencies);
$n = count($latencies);
echo json_encode(array(
    'elapsed' => $elapsed,
    'p50_ms' => $latencies[(int)round(0.5 * ($n - 1))] * 1000,
    'p99_ms' => $latencies[(int)round(0.99 * ($n - 1))] * 1000,
    'errors' => $errors,
    'all_ids' => $received === $calls,
    'cpu_us_per_call' => $cpu / $calls * 1e6,
)), "\n";
