import { MemoryTaskStore } from '../../master/store/task-store.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'memory',
  durable: false,
  fresh: async () => {
    const store = new MemoryTaskStore(1000);
    return { store, reopen: async () => store };
  },
});
