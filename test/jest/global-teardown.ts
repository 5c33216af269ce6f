import { stopPlane } from './start-plane.ts';

export default (): Promise<void> => stopPlane('kwok');
