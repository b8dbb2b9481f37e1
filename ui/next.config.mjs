/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Shared TypeScript sources (the socket.io contract) are compiled by Next.
  transpilePackages: ['@switchboard/protocol', '@switchboard/errors'],
  eslint: { ignoreDuringBuilds: true },
  // The custom server (src/server.ts) is not part of the Next bundle.
  typescript: { tsconfigPath: 'tsconfig.json' },
};

export default nextConfig;
