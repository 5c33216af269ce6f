import { startPlane } from './start-plane.ts';

export default (): Promise<void> => startPlane('kwok');
