export * from './ConsulClient';
export * from './ServiceWatcher';
export * from './registration';
export * from './acl';
