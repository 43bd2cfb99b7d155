/** `npm run bench:store`: the flow store benchmark (scripts/store-benchmark.ts) in Node, run with --expose-gc. */
import { runStoreBenchmark } from './store-benchmark';

runStoreBenchmark((line) => console.log(line), (globalThis as { gc?: () => void }).gc);
