<?php
// The vendor's PHP REQUEST block of POST /verification/orderId/record (seed 003),
// wrapped in a sequential loop. Changes to the sample, and only these: the URL and the
// number of calls come from argv, the example credentials of the API reference are
// filled in, the orderId varies per call, and var_dump($output) is replaced by a
// check that the answer carries the requested orderId (printing 10,000 dumps would
// measure the terminal). One curl handle per call, as in the sample. Outside the
// sample, the loop measures its latency and CPU time (getrusage) like vendor_multi.php.
//
//     php benchmarks/vendor_sample.php http://127.0.0.1:8765/otp/verification/orderId/record 10000

$target = $argv[1];
$calls = (int)$argv[2];
$errors = 0;
$received = 0;
$latencies = array();
$usage0 = getrusage();
$started = microtime(true);

for ($i = 0; $i < $calls; $i++) {
    $t0 = microtime(true);
    // ---- the sample, verbatim except as said above --------------------------------
    // header('content-type:text/html;charset=utf8');  (a no-op on the command line)

    $apiKey = "bDqJFiq9";
    $apiSecret = "7bz1lzh9";
    $appId = "ad454212";
    $url = $target;

    $timeStamp = time();
    $sign = md5($apiKey.$apiSecret.$timeStamp);

    $dataArr['appId'] = $appId;
    $dataArr['orderId'] = (string)$i;

    $data = json_encode($dataArr);
    $headers = array('Content-Type:application/json;charset=UTF-8',"Sign:$sign","Timestamp:$timeStamp","Api-Key:$apiKey");

    $ch = curl_init();

    curl_setopt($ch, CURLOPT_URL,$url);
    curl_setopt($ch, CURLOPT_POST, 1);
    curl_setopt($ch, CURLOPT_CONNECTTIMEOUT, 600);
    curl_setopt($ch, CURLOPT_HTTPHEADER,$headers);
    curl_setopt($ch, CURLOPT_POSTFIELDS , $data);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, 1);
    curl_setopt($ch, CURLOPT_SSL_VERIFYPEER, 0);
    curl_setopt($ch, CURLOPT_SSL_VERIFYHOST, 0);

    $output = curl_exec($ch);
    curl_close($ch);
    // ---- end of the sample ----------------------------------------------------------
    $decoded = is_string($output) ? json_decode($output, true) : null;
    if (is_array($decoded) && isset($decoded['data']['orderId']) && $decoded['data']['orderId'] === (string)$i) {
        $received++;
    } else {
        $errors++;
    }
    $latencies[] = microtime(true) - $t0;
}

$elapsed = microtime(true) - $started;
$usage = getrusage();
$cpu = ($usage['ru_utime.tv_sec'] - $usage0['ru_utime.tv_sec'] + $usage['ru_stime.tv_sec'] - $usage0['ru_stime.tv_sec'])
     + ($usage['ru_utime.tv_usec'] - $usage0['ru_utime.tv_usec'] + $usage['ru_stime.tv_usec'] - $usage0['ru_stime.tv_usec']) / 1e6;
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
