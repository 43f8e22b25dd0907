export * from './apiKeys.ts';
export * from './auditLog.ts';
export * from './dashboardSessions.ts';
export * from './jobs.ts';
export * from './memberships.ts';
export * from './organizations.ts';
export * from './users.ts';
